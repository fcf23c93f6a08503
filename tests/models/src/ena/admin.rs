//! The admin queue engine (ena.md §3): AQ entries read from the driver's
//! free-running tail, one ACQ completion each with the phase bit, the
//! management vector when INTR_MASK is 0; plus GET_STATS.
//!
//! Only `size_of::<Cmd>()` bytes of an entry are parsed: drivers leave stale
//! bytes past a command's size (ena.md §3.2).

use cloudnic_ena::defs::admin::DeviceCaps;
use cloudnic_ena::defs::admin::{
    AcqEntry, AdminOpcode, AdminStatus, AqEntry, BasicStats, CreateCqCmd, CreateSqCmd,
    CustomerMetricsResp, DestroyCqCmd, DestroySqCmd, GetFeatureCmd, GetStatsCmd, SetFeatureCmd,
    SrdInfo, ADMIN_ENTRY_SIZE, CUSTOMER_METRICS_SUPPORT_MASK, STATS_TYPE_BASIC,
    STATS_TYPE_CUSTOMER_METRICS, STATS_TYPE_ENA_SRD, STATS_TYPE_ENI,
};
use cloudnic_ena::defs::regs::queue_caps_decode;
use zerocopy::{FromBytes, Immutable, IntoBytes};

use super::counters::ADMIN_OPCODE_SLOTS;
use super::faults::AdminAction;
use super::EnaModel;
use crate::mem::GuestMemory;

/// Bytes of response data in an ACQ entry (after the 8-byte header).
pub(crate) const ACQ_DATA_LEN: usize = 56;

/// What a command answers: status and response data (ACQ bytes 8..64).
#[derive(Clone, Copy, Debug)]
pub(crate) struct AdminReply {
    pub(crate) status: u8,
    pub(crate) data: [u8; ACQ_DATA_LEN],
}

impl AdminReply {
    /// Success with `payload` at ACQ byte 8.
    pub(crate) fn ok<T: IntoBytes + Immutable + ?Sized>(payload: &T) -> Self {
        let mut data = [0u8; ACQ_DATA_LEN];
        let src = payload.as_bytes();
        let n = src.len().min(ACQ_DATA_LEN);
        data[..n].copy_from_slice(&src[..n]);
        AdminReply {
            status: AdminStatus::Success as u8,
            data,
        }
    }
    /// Success with no data.
    pub(crate) fn done() -> Self {
        AdminReply {
            status: AdminStatus::Success as u8,
            data: [0; ACQ_DATA_LEN],
        }
    }
    /// Failure.
    pub(crate) fn err(status: AdminStatus) -> Self {
        AdminReply {
            status: status as u8,
            data: [0; ACQ_DATA_LEN],
        }
    }
}

/// AQ/ACQ registers and ring positions.
#[derive(Debug)]
pub(crate) struct AdminState {
    pub(crate) sq_base: u64,
    pub(crate) sq_caps: u32,
    sq_depth: u16,
    sq_head: u16,
    sq_phase: bool,
    pub(crate) cq_base: u64,
    pub(crate) cq_caps: u32,
    cq_depth: u16,
    cq_tail: u16,
    cq_phase: bool,
    /// Completions held back by a delay fault: (due time, command id, reply).
    delayed: Vec<(u64, u16, AdminReply)>,
}

impl Default for AdminState {
    fn default() -> Self {
        AdminState {
            sq_base: 0,
            sq_caps: 0,
            sq_depth: 0,
            sq_head: 0,
            sq_phase: true,
            cq_base: 0,
            cq_caps: 0,
            cq_depth: 0,
            cq_tail: 0,
            cq_phase: true,
            delayed: Vec::new(),
        }
    }
}

fn valid_depth(depth: u16, entry: u16) -> bool {
    depth.is_power_of_two() && entry == ADMIN_ENTRY_SIZE
}

impl AdminState {
    /// AQ_CAPS: depth and entry size; (re)starts the ring at head 0, phase 1.
    pub(crate) fn set_sq_caps(&mut self, val: u32) {
        let (depth, entry) = queue_caps_decode(val);
        self.sq_caps = val;
        self.sq_depth = if valid_depth(depth, entry) { depth } else { 0 };
        self.sq_head = 0;
        self.sq_phase = true;
    }
    /// ACQ_CAPS: depth and entry size; (re)starts the ring at tail 0, phase 1.
    pub(crate) fn set_cq_caps(&mut self, val: u32) {
        let (depth, entry) = queue_caps_decode(val);
        self.cq_caps = val;
        self.cq_depth = if valid_depth(depth, entry) { depth } else { 0 };
        self.cq_tail = 0;
        self.cq_phase = true;
        self.delayed.clear();
    }
    fn ready(&self) -> bool {
        self.sq_depth != 0 && self.cq_depth != 0 && self.sq_base != 0 && self.cq_base != 0
    }
}

impl<M: GuestMemory + ?Sized> EnaModel<M> {
    /// AQ_DB: consume entries from the device head up to the free-running tail.
    pub(crate) fn admin_doorbell(&mut self, tail: u16) {
        self.counters.aq_doorbells += 1;
        if !self.admin.ready() {
            self.counters.admin_unconfigured += 1;
            return;
        }
        let depth = self.admin.sq_depth;
        // Never walk more than one ring's worth, whatever the driver wrote.
        let pending = tail.wrapping_sub(self.admin.sq_head).min(depth);
        for _ in 0..pending {
            let slot = u64::from(self.admin.sq_head & (depth - 1));
            let mut entry = AqEntry::new_zeroed_entry();
            let ok = self.dma_read(
                self.admin.sq_base + slot * u64::from(ADMIN_ENTRY_SIZE),
                entry.as_mut_bytes(),
            );
            if entry.phase() != self.admin.sq_phase {
                self.counters.admin_phase_errors += 1;
            }
            self.admin.sq_head = self.admin.sq_head.wrapping_add(1);
            if self.admin.sq_head & (depth - 1) == 0 {
                self.admin.sq_phase = !self.admin.sq_phase;
            }
            let reply = if ok {
                self.admin_execute_with_faults(&entry)
            } else {
                Some((0, AdminReply::err(AdminStatus::MalformedRequest)))
            };
            if let Some((delay, reply)) = reply {
                if delay == 0 {
                    self.admin_complete(entry.command_id(), reply);
                } else {
                    let due = self.now().saturating_add(delay);
                    self.admin.delayed.push((due, entry.command_id(), reply));
                }
            }
        }
    }

    /// Execute one command unless a fault says otherwise; returns the delay
    /// and reply to write, or None when the completion is dropped.
    fn admin_execute_with_faults(&mut self, entry: &AqEntry) -> Option<(u64, AdminReply)> {
        let opcode = entry.common.opcode;
        let action = if self.faults.idle() {
            None
        } else {
            let feature = matches!(
                AdminOpcode::from_u8(opcode),
                Some(AdminOpcode::GetFeature | AdminOpcode::SetFeature)
            )
            .then(|| entry.body[1]);
            self.faults.admin(opcode, feature)
        };
        match action {
            None => Some((0, self.admin_execute(entry))),
            Some(AdminAction::Status(status)) => {
                self.counters.faults_fired += 1;
                Some((
                    0,
                    AdminReply {
                        status,
                        data: [0; ACQ_DATA_LEN],
                    },
                ))
            }
            Some(AdminAction::Drop) => {
                self.counters.faults_fired += 1;
                self.counters.admin_dropped += 1;
                let _ = self.admin_execute(entry);
                None
            }
            Some(AdminAction::Delay(us)) => {
                self.counters.faults_fired += 1;
                self.counters.admin_delayed += 1;
                Some((us.max(1), self.admin_execute(entry)))
            }
        }
    }

    fn admin_execute(&mut self, entry: &AqEntry) -> AdminReply {
        let opcode = entry.common.opcode;
        self.counters.admin_commands[usize::from(opcode).min(ADMIN_OPCODE_SLOTS - 1)] += 1;
        let Some(op) = AdminOpcode::from_u8(opcode) else {
            return AdminReply::err(AdminStatus::BadOpcode);
        };
        match op {
            AdminOpcode::CreateSq => entry
                .command::<CreateSqCmd>()
                .map_or_else(malformed, |c| self.create_sq(&c)),
            AdminOpcode::DestroySq => entry
                .command::<DestroySqCmd>()
                .map_or_else(malformed, |c| self.destroy_sq(&c)),
            AdminOpcode::CreateCq => entry
                .command::<CreateCqCmd>()
                .map_or_else(malformed, |c| self.create_cq(&c)),
            AdminOpcode::DestroyCq => entry
                .command::<DestroyCqCmd>()
                .map_or_else(malformed, |c| self.destroy_cq(&c)),
            AdminOpcode::GetFeature => entry
                .command::<GetFeatureCmd>()
                .map_or_else(malformed, |c| self.get_feature(&c)),
            AdminOpcode::SetFeature => entry
                .command::<SetFeatureCmd>()
                .map_or_else(malformed, |c| self.set_feature(&c)),
            AdminOpcode::GetStats => entry
                .command::<GetStatsCmd>()
                .map_or_else(malformed, |c| self.get_stats(&c)),
        }
    }

    /// Write one ACQ entry at the device tail with the current phase.
    fn admin_complete(&mut self, command_id: u16, reply: AdminReply) {
        if !self.admin.ready() {
            return;
        }
        let depth = self.admin.cq_depth;
        let slot = u64::from(self.admin.cq_tail & (depth - 1));
        let mut e = AcqEntry::new(
            command_id,
            AdminStatus::Success,
            self.admin.cq_phase,
            &reply.data,
        );
        e.common.status = reply.status;
        e.common.sq_head_indx = self.admin.sq_head;
        self.dma_write(
            self.admin.cq_base + slot * u64::from(ADMIN_ENTRY_SIZE),
            e.as_bytes(),
        );
        self.admin.cq_tail = self.admin.cq_tail.wrapping_add(1);
        if self.admin.cq_tail & (depth - 1) == 0 {
            self.admin.cq_phase = !self.admin.cq_phase;
        }
        self.counters.admin_completions += 1;
        if reply.status != AdminStatus::Success as u8 {
            self.counters.admin_errors += 1;
        }
        self.raise_mgmt(false);
    }

    /// Write delayed completions that are due.
    pub(crate) fn admin_timers(&mut self, now: u64) {
        if self.admin.delayed.is_empty() {
            return;
        }
        self.admin.delayed.sort_by_key(|d| d.0);
        let n = self.admin.delayed.partition_point(|d| d.0 <= now);
        let due: Vec<_> = self.admin.delayed.drain(..n).collect();
        for (_, id, reply) in due {
            self.admin_complete(id, reply);
        }
    }

    /// GET_STATS (ena.md §3.6): basic, ENI, SRD, customer metrics.
    fn get_stats(&mut self, cmd: &GetStatsCmd) -> AdminReply {
        let caps = self.cfg.capabilities;
        match cmd.stats_type {
            STATS_TYPE_BASIC => {
                let s = self.stats;
                let split = |v: u64| (v as u32, (v >> 32) as u32);
                let (tx_bytes_low, tx_bytes_high) = split(s.tx_bytes);
                let (tx_pkts_low, tx_pkts_high) = split(s.tx_pkts);
                let (rx_bytes_low, rx_bytes_high) = split(s.rx_bytes);
                let (rx_pkts_low, rx_pkts_high) = split(s.rx_pkts);
                let (rx_drops_low, rx_drops_high) = split(s.rx_drops);
                let (tx_drops_low, tx_drops_high) = split(s.tx_drops);
                let (rx_overruns_low, rx_overruns_high) = split(s.rx_overruns);
                AdminReply::ok(&BasicStats {
                    tx_bytes_low,
                    tx_bytes_high,
                    tx_pkts_low,
                    tx_pkts_high,
                    rx_bytes_low,
                    rx_bytes_high,
                    rx_pkts_low,
                    rx_pkts_high,
                    rx_drops_low,
                    rx_drops_high,
                    tx_drops_low,
                    tx_drops_high,
                    rx_overruns_low,
                    rx_overruns_high,
                })
            }
            STATS_TYPE_ENI if caps.contains(DeviceCaps::ENI_STATS) => {
                AdminReply::ok(&self.eni_stats)
            }
            STATS_TYPE_ENA_SRD if caps.contains(DeviceCaps::ENA_SRD_INFO) => {
                AdminReply::ok(&SrdInfo::default())
            }
            STATS_TYPE_CUSTOMER_METRICS if caps.contains(DeviceCaps::CUSTOMER_METRICS) => {
                let reported = cmd.requested_metrics & CUSTOMER_METRICS_SUPPORT_MASK;
                let values: Vec<u8> = (0..6)
                    .filter(|i| reported & (1 << i) != 0)
                    .flat_map(|i| self.customer_metrics[i].to_le_bytes())
                    .collect();
                let len = cmd.ctrl.length as usize;
                // The support query carries no buffer: upstream Linux sends
                // requested = 0x3F with address 0 / length 0 at probe and
                // reads only `reported_metrics` (tests_upstream.rs).
                if cmd.ctrl.address.get() == 0 || len == 0 {
                    return AdminReply::ok(&CustomerMetricsResp {
                        reported_metrics: reported,
                    });
                }
                if values.len() > len {
                    return AdminReply::err(AdminStatus::MalformedRequest);
                }
                if !values.is_empty() && !self.dma_write(cmd.ctrl.address.get(), &values) {
                    return AdminReply::err(AdminStatus::MalformedRequest);
                }
                AdminReply::ok(&CustomerMetricsResp {
                    reported_metrics: reported,
                })
            }
            _ => AdminReply::err(AdminStatus::UnsupportedOpcode),
        }
    }
}

fn malformed() -> AdminReply {
    AdminReply::err(AdminStatus::MalformedRequest)
}

/// Parse a control buffer read from guest memory as `T`.
pub(crate) fn parse_buf<T: FromBytes>(bytes: &[u8]) -> Option<T> {
    T::read_from_prefix(bytes).ok().map(|(t, _)| t)
}
