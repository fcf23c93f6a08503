// SPDX-License-Identifier: GPL-2.0 OR MIT
//! The control path: open/stop, MTU, ethtool requests, management events, the 1 s health
//! tick and the reset worker. Every check and every decision is the shared driver's; requests
//! it refuses return an errno and change nothing (it validates before it touches the device).

use cloudnic_common::nic::{ModerationConfig, NetDevice, QueueConfig, Released, RssConfig};
use kernel::prelude::*;

use super::datapath::{refill, release_rx_token};
use super::tables::Tables;
use super::{errno, EnaNet, Inner};
use crate::kapi::{NetDevHandle, PciHandle};

/// Most RSS indirection-table entries handled (ENA: 2^log_size, at most 2^16; ena.md §4.8).
const MAX_RSS_TABLE: usize = 1 << 16;

/// Give back one buffer the core released.
pub(super) fn release(tables: &mut Tables, pci: PciHandle, r: Released) {
    match r {
        Released::Tx(tok) => {
            if let Some((skb, _)) = tables.tx_finish(pci, tok) {
                skb.free(0);
            }
        }
        Released::Rx(tok) => release_rx_token(tables, pci, tok),
    }
}

/// Report a request the shared driver refused: a warning in the kernel log naming the request
/// and the core's reason ("ring size 1000 is not a power of two"), the same text into `msg`
/// (netdev.c hands it to the netlink extended ack, so `ethtool` prints it), and the errno.
fn refused(i: &Inner<'_>, msg: &mut [u8], what: &str, e: cloudnic_common::Error) -> Error {
    use cloudnic_common::Platform as _;
    i.dev.platform().log(
        cloudnic_common::LogLevel::Warn,
        format_args!("{what} refused: {e}"),
    );
    msg.fill(0);
    let mut w = FixedStr { buf: msg, len: 0 };
    let _ = core::fmt::write(&mut w, format_args!("{e}"));
    errno(e)
}

impl EnaNet<'_> {
    /// `ndo_open`.
    pub(crate) fn open(&self) -> Result {
        let pci = self.pci;
        let nq_max = self.nq_max;
        let r = self.exclusive(|i, nd| {
            let cfg = i.dev.queue_config();
            let tables = Tables::new(cfg.num_queues, cfg.tx_ring_size, cfg.rx_ring_size)?;
            to_result(nd.set_real_queues(cfg.num_queues.min(nq_max)))?;
            i.dev.open(cfg).map_err(errno)?;
            i.tables = tables;
            for q in 0..cfg.num_queues {
                refill(i, pci, q, 1);
            }
            Ok(())
        });
        r.unwrap_or(Err(ENODEV))
    }

    /// `ndo_stop`: destroy the queues; every skb and page goes back to the kernel.
    pub(crate) fn stop(&self) -> Result {
        let pci = self.pci;
        let r = self.exclusive(|i, _| {
            let Inner { dev, tables } = i;
            let r = dev.close(&mut |rel| release(tables, pci, rel));
            let mut old = core::mem::replace(tables, Tables::empty());
            old.drain(pci);
            r.map_err(errno)
        });
        r.unwrap_or(Ok(()))
    }

    /// `ndo_change_mtu` (range already checked by the core against the device maximum).
    pub(crate) fn change_mtu(&self, mtu: u32) -> Result {
        self.exclusive(|i, _| {
            i.dev
                .set_mtu(mtu)
                .map_err(|e| refused(i, &mut [], "MTU change", e))
        })
        .unwrap_or(Err(ENODEV))
    }

    /// New queue count and/or ring sizes (`ethtool -L`, `-G`). The new tables are allocated
    /// first, so running out of memory changes nothing; if the device keeps its old layout
    /// (the core refused or restored it) the old tables stay.
    fn requeue(&self, what: &str, msg: &mut [u8], f: impl FnOnce(&mut QueueConfig)) -> Result {
        let pci = self.pci;
        let nq_max = self.nq_max;
        self.exclusive(|i, nd| {
            let old_cfg = i.dev.queue_config();
            let mut cfg = old_cfg;
            f(&mut cfg);
            if cfg.num_queues > nq_max {
                return Err(EINVAL);
            }
            if !i.dev.is_open() {
                return i
                    .dev
                    .reconfigure(cfg, &mut |_| {})
                    .map_err(|e| refused(i, msg, what, e));
            }
            let new = Tables::new(
                cfg.num_queues.max(old_cfg.num_queues),
                cfg.tx_ring_size.max(old_cfg.tx_ring_size),
                cfg.rx_ring_size.max(old_cfg.rx_ring_size),
            )?;
            let Inner { dev, tables } = i;
            let r = dev.reconfigure(cfg, &mut |rel| release(tables, pci, rel));
            if tables.in_use() == 0 {
                let mut old = core::mem::replace(tables, new);
                old.drain(pci);
            }
            let now = i.dev.queue_config();
            to_result(nd.set_real_queues(now.num_queues.min(nq_max)))?;
            if i.dev.is_open() {
                for q in 0..now.num_queues {
                    refill(i, pci, q, 1);
                }
            }
            r.map_err(|e| refused(i, msg, what, e))
        })
        .unwrap_or(Err(ENODEV))
    }

    pub(crate) fn set_channels(&self, n: u32) -> Result {
        let n = u16::try_from(n).map_err(|_| EINVAL)?;
        self.requeue("ethtool -L", &mut [], |c| c.num_queues = n)
    }

    pub(crate) fn set_rings(&self, tx: u32, rx: u32, msg: &mut [u8]) -> Result {
        self.requeue("ethtool -G", msg, |c| {
            c.tx_ring_size = tx;
            c.rx_ring_size = rx;
        })
    }

    /// (max TX, max RX, current TX, current RX) ring sizes.
    pub(crate) fn rings(&self) -> [u32; 4] {
        self.with_dev(|i| {
            let inf = i.dev.info();
            let c = i.dev.queue_config();
            [
                inf.max_tx_ring_size,
                inf.max_rx_ring_size,
                c.tx_ring_size,
                c.rx_ring_size,
            ]
        })
        .unwrap_or_default()
    }

    /// (max, current) combined channels.
    pub(crate) fn channels(&self) -> [u32; 2] {
        let nq_max = self.nq_max;
        self.with_dev(|i| {
            let max = i.dev.info().max_queues.min(nq_max);
            [max.into(), i.dev.queue_config().num_queues.into()]
        })
        .unwrap_or_default()
    }

    /// (key bytes, indirection entries).
    pub(crate) fn rss_sizes(&self) -> [u32; 2] {
        self.with_dev(|i| [i.dev.info().rss_key_size, i.dev.info().rss_table_size])
            .unwrap_or_default()
    }

    pub(crate) fn get_rss(&self, key: &mut [u8], indir: &mut [u32]) {
        let mut table = KVVec::<u16>::new();
        if !indir.is_empty()
            && table
                .resize(indir.len().min(MAX_RSS_TABLE), 0, GFP_KERNEL)
                .is_err()
        {
            return;
        }
        self.with_dev(|i| i.dev.get_rss(key, &mut table));
        for (d, s) in indir.iter_mut().zip(table.iter()) {
            *d = u32::from(*s);
        }
    }

    pub(crate) fn set_rss(
        &self,
        key: Option<&[u8]>,
        indir: Option<&[u32]>,
        msg: &mut [u8],
    ) -> Result {
        let mut table = KVVec::<u16>::new();
        if let Some(ind) = indir {
            if ind.len() > MAX_RSS_TABLE {
                return Err(EINVAL);
            }
            table.reserve(ind.len(), GFP_KERNEL)?;
            for &v in ind {
                let v = u16::try_from(v).map_err(|_| EINVAL)?;
                table.push_within_capacity(v).map_err(|_| ENOMEM)?;
            }
        }
        let cfg = RssConfig {
            key,
            table: indir.map(|_| &table[..]),
        };
        self.exclusive(|i, _| {
            i.dev
                .set_rss(&cfg)
                .map_err(|e| refused(i, msg, "ethtool -X", e))
        })
        .unwrap_or(Err(ENODEV))
    }

    /// (TX µs, RX µs, adaptive RX).
    pub(crate) fn coalesce(&self) -> [u32; 3] {
        self.with_dev(|i| {
            let m = i.dev.moderation();
            [m.tx_usecs, m.rx_usecs, u32::from(m.adaptive_rx)]
        })
        .unwrap_or_default()
    }

    pub(crate) fn set_coalesce(&self, tx: u32, rx: u32, adaptive: bool, msg: &mut [u8]) -> Result {
        let m = ModerationConfig {
            tx_usecs: tx,
            rx_usecs: rx,
            adaptive_rx: adaptive,
        };
        self.exclusive(|i, _| {
            i.dev
                .set_moderation(m)
                .map_err(|e| refused(i, msg, "ethtool -C", e))
        })
        .unwrap_or(Err(ENODEV))
    }

    /// RX queues for RSS (`ethtool -x`).
    pub(crate) fn rx_ring_count(&self) -> u32 {
        self.with_dev(|i| u32::from(i.dev.queue_config().num_queues))
            .unwrap_or(1)
    }

    /// `ndo_tx_timeout`: the core picks the reason (netdev watchdog or poll starvation).
    pub(crate) fn tx_timeout(&self, q: u16) {
        if self.with_dev(|i| i.dev.tx_timeout(q)).is_some() {
            if let Some(nd) = self.nd_handle() {
                nd.schedule_reset();
            }
        }
    }

    /// Management interrupt: admin completions and AENQ events (keep-alive, link, hints).
    pub(crate) fn management(&self) {
        let pending = self.with_dev(|i| {
            i.dev.handle_management_interrupt();
            i.dev.pending_reset().is_some()
        });
        self.sync_carrier();
        if let (Some(true), Some(nd)) = (pending, self.nd_handle()) {
            nd.schedule_reset();
        }
    }

    /// The 1 s health tick (ena.md §6.4): keep-alive, missing completions, admin state, lost
    /// interrupts, empty RX rings; schedules the reset worker when the core asks for one.
    pub(crate) fn health(&self) {
        let Some(nd) = self.nd_handle() else { return };
        let nq_max = self.nq_max;
        let r = self.with_dev(|i| {
            let now = i.dev.health_check();
            let mut polls = 0u64;
            for q in 0..i.dev.queue_config().num_queues.min(nq_max).min(64) {
                if i.dev.take_poll_request(q) {
                    polls |= 1 << q;
                }
            }
            (now.is_some() || i.dev.pending_reset().is_some(), polls)
        });
        let Some((reset, polls)) = r else { return };
        for q in 0..64u16 {
            if polls & (1 << q) != 0 {
                nd.napi_schedule(q);
            }
        }
        if reset {
            nd.schedule_reset();
        }
    }

    /// The reset worker (RTNL held): the shared §6.5 flow — stop, dump stats, reset with the
    /// reason, re-initialise, restore MTU, queues, rings, RSS and moderation — then refill.
    /// A device that stays silent keeps the reset pending; the next tick retries.
    pub(crate) fn reset(&self) {
        let pci = self.pci;
        let Some(Some(reason)) = self.with_dev(|i| i.dev.pending_reset()) else {
            return;
        };
        self.exclusive(|i, nd| {
            let Inner { dev, tables } = i;
            let r = dev.reset(reason, &mut |rel| release(tables, pci, rel));
            if r.is_err() {
                return;
            }
            let cfg = i.dev.queue_config();
            let _ = nd.set_real_queues(cfg.num_queues.min(self.nq_max));
            if i.dev.is_open() {
                for q in 0..cfg.num_queues {
                    refill(i, pci, q, 1);
                }
            }
        });
    }

    /// Counter count for `ethtool -S`.
    pub(crate) fn stat_count(&self) -> u32 {
        self.with_dev(|i| {
            let mut n = 0u32;
            i.dev.for_each_stat(&mut |_, _| n += 1);
            n
        })
        .unwrap_or(0)
    }

    /// Counter names into `buf`, 32 bytes each (ETH_GSTRING_LEN), at most `n`.
    pub(crate) fn stat_strings(&self, buf: &mut [u8]) {
        self.with_dev(|i| {
            let mut chunks = buf.chunks_exact_mut(32);
            i.dev.for_each_stat(&mut |name, _| {
                if let Some(c) = chunks.next() {
                    c.fill(0);
                    let mut w = FixedStr { buf: c, len: 0 };
                    let _ = core::fmt::write(&mut w, format_args!("{name}"));
                }
            });
        });
    }

    /// Counter values into `buf`, at most its length.
    pub(crate) fn stat_values(&self, buf: &mut [u64]) {
        self.with_dev(|i| {
            let mut it = buf.iter_mut();
            i.dev.for_each_stat(&mut |_, v| {
                if let Some(d) = it.next() {
                    *d = v;
                }
            });
        });
    }

    pub(crate) fn nd_handle(&self) -> Option<NetDevHandle> {
        self.nd
    }
}

/// A zero-filled fixed buffer as a `fmt::Write` sink (ethtool strings; truncates, keeps a NUL).
struct FixedStr<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl core::fmt::Write for FixedStr<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let room = self.buf.len().saturating_sub(1).saturating_sub(self.len);
        let n = s.len().min(room);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

fn to_result(err: i32) -> Result {
    if err == 0 {
        Ok(())
    } else {
        Err(Error::from_errno(err))
    }
}
