//! Turning keywords, device limits and granted interrupts into the queue
//! layout, and interrupt messages into roles.
//!
//! MSI-X layout (same as ENA's and MANA's Linux drivers, ena.md §5.1):
//! message 0 is the management vector (admin/AENQ or HWC EQ), message
//! `q + 1` serves queue pair `q`. With a single message (line-based or one
//! MSI), that message serves everything.

use cloudnic_common::nic::{DeviceInfo, QueueConfig};

use super::keywords::Keywords;

/// What a granted interrupt message does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VectorRole {
    /// Management (admin completions, async events, link).
    Management,
    /// Queue pair `q`.
    Queue(u16),
    /// The only message: management and every queue.
    All,
}

/// Role of message `msg` given `messages` granted and `queues` open.
pub fn vector_role(msg: u32, messages: u32, queues: u16) -> Option<VectorRole> {
    if messages <= 1 {
        return (msg == 0).then_some(VectorRole::All);
    }
    match msg {
        0 => Some(VectorRole::Management),
        m => {
            let q = u16::try_from(m - 1).ok()?;
            (q < queues).then_some(VectorRole::Queue(q))
        }
    }
}

/// Adjustments made while planning, for the log.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PlanNotes {
    /// `*JumboPacket` exceeded the device's MTU range.
    pub mtu_clamped: bool,
    /// Fewer queues than asked: device or interrupt messages limit.
    pub queues_limited: bool,
    /// A ring size was outside the device's limits.
    pub ring_clamped: bool,
}

/// Largest power of two ≤ `v`, at least 1.
fn floor_pow2(v: u32) -> u32 {
    if v == 0 {
        1
    } else {
        1 << (31 - v.leading_zeros())
    }
}

fn ring(want: u32, min: u32, max: u32, clamped: &mut bool) -> u32 {
    let lo = min.max(1).next_power_of_two();
    let hi = floor_pow2(max.max(lo));
    let r = floor_pow2(want).clamp(lo, hi);
    if r != want {
        *clamped = true;
    }
    r
}

/// The queue configuration to open: queue count from `*RSS`,
/// `*NumRssQueues`, `*MaxRssProcessors`, the device maximum and the
/// granted messages; ring sizes and MTU clamped to the device's limits.
pub fn queue_config(kw: &Keywords, info: &DeviceInfo, messages: u32) -> (QueueConfig, PlanNotes) {
    let mut notes = PlanNotes::default();
    let wanted = if kw.rss {
        kw.num_rss_queues.min(kw.max_rss_processors)
    } else {
        1
    };
    let by_vectors = if messages <= 1 {
        1
    } else {
        u16::try_from(messages - 1).unwrap_or(u16::MAX)
    };
    let num_queues = wanted.min(info.max_queues.max(1)).min(by_vectors).max(1);
    notes.queues_limited = num_queues < wanted;
    let mtu = kw.mtu().clamp(info.min_mtu, info.max_mtu.max(info.min_mtu));
    notes.mtu_clamped = mtu != kw.mtu();
    let tx = ring(
        kw.transmit_buffers,
        info.min_ring_size,
        info.max_tx_ring_size,
        &mut notes.ring_clamped,
    );
    let rx = ring(
        kw.receive_buffers,
        info.min_ring_size,
        info.max_rx_ring_size,
        &mut notes.ring_clamped,
    );
    (
        QueueConfig {
            num_queues,
            tx_ring_size: tx,
            rx_ring_size: rx,
            mtu,
        },
        notes,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> DeviceInfo {
        DeviceInfo {
            mac: [2, 0, 0, 0, 0, 1],
            min_mtu: 128,
            max_mtu: 9001,
            max_queues: 8,
            min_ring_size: 256,
            max_tx_ring_size: 1024,
            max_rx_ring_size: 16384,
            max_tx_segments: 17,
            max_rx_segments: 16,
            rss_table_size: 128,
            rss_key_size: 40,
            link_speed_mbps: 25_000,
            ..Default::default()
        }
    }

    #[test]
    fn roles_of_messages() {
        assert_eq!(vector_role(0, 5, 4), Some(VectorRole::Management));
        assert_eq!(vector_role(1, 5, 4), Some(VectorRole::Queue(0)));
        assert_eq!(vector_role(4, 5, 4), Some(VectorRole::Queue(3)));
        assert_eq!(vector_role(5, 9, 4), None, "granted but no queue");
        assert_eq!(vector_role(0, 1, 4), Some(VectorRole::All));
        assert_eq!(vector_role(1, 1, 4), None);
    }

    #[test]
    fn defaults_fit_the_device() {
        let (q, n) = queue_config(&Keywords::defaults(), &info(), 9);
        assert_eq!(
            q,
            QueueConfig {
                num_queues: 8,
                tx_ring_size: 1024,
                rx_ring_size: 1024,
                mtu: 1500
            }
        );
        assert_eq!(n, PlanNotes::default());
    }

    #[test]
    fn limits_are_applied_and_noted() {
        let mut kw = Keywords::defaults();
        kw.num_rss_queues = 32;
        kw.max_rss_processors = 16;
        kw.transmit_buffers = 8192;
        kw.jumbo_packet = 9216;
        let (q, n) = queue_config(&kw, &info(), 5);
        assert_eq!(q.num_queues, 4, "5 messages: management + 4 queues");
        assert_eq!(q.tx_ring_size, 1024);
        assert_eq!(q.mtu, 9001);
        assert!(n.queues_limited && n.ring_clamped && n.mtu_clamped);
        kw.rss = false;
        assert_eq!(queue_config(&kw, &info(), 9).0.num_queues, 1);
        assert_eq!(
            queue_config(&Keywords::defaults(), &info(), 1).0.num_queues,
            1
        );
        assert_eq!(floor_pow2(1000), 512);
    }
}
