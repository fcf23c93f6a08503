//! The fixture's verdicts: traffic checks, the "recovered from one reset"
//! check, and the teardown check that nothing was lost, leaked or returned
//! twice.

use std::collections::BTreeMap;

use cloudnic_common::nic::{NetDevice, RxChecksum};
use cloudnic_common::ResetReason;
use cloudnic_ena::defs::admin::DeviceCaps;
use cloudnic_models::net::{pattern, CsumMode, FrameBuilder};

use super::{EnaNode, Received};

impl EnaNode {
    /// The reason code the device sees in DEV_CTL for `reason`: codes of 16
    /// and up only with EXTENDED_RESET_REASONS, else GENERIC (ena.md §1.4).
    pub fn wire_reason(&self, reason: ResetReason) -> u8 {
        let ext = self
            .model
            .borrow()
            .config()
            .capabilities
            .contains(DeviceCaps::EXTENDED_RESET_REASONS);
        if reason.code() >= 16 && !ext {
            ResetReason::Generic.code()
        } else {
            reason.code()
        }
    }

    /// The node ran exactly one reset, for `reason`, and it recovered:
    /// the device saw the reason between the NORMAL resets of probe and
    /// restore; `total_resets` is 1, the reason's `ethtool -S` counter 1,
    /// `reset_fail` 0; the log shows AWS's sequence ("Trigger reset is on",
    /// the statistics dump with the counter at 1, "Device reset completed
    /// successfully"); the interface is open again.
    pub fn assert_reset_once(&self, reason: ResetReason) {
        assert_eq!(self.resets, [reason], "resets run");
        assert_eq!(self.reset_results, [Ok(())], "reset outcome");
        let wire = self.wire_reason(reason);
        assert_eq!(
            self.model.borrow().reset_reasons(),
            [0, wire, 0],
            "DEV_CTL reset reasons seen by the device"
        );
        assert_eq!(self.stat("total_resets"), Some(1));
        assert_eq!(self.stat("reset_fail"), Some(0));
        if let Some(name) = reason.counter_name() {
            assert_eq!(self.stat(name), Some(1), "{name}");
            let dump = format!(": {name}: 1");
            assert!(self.log().contains(&dump), "stats dump lacks {dump:?}");
        }
        let lines: Vec<String> = self.log().lines().into_iter().map(|(_, l)| l).collect();
        let pos = |needle: &str| lines.iter().position(|l| l.contains(needle));
        let trigger = pos("Trigger reset is on").expect("\"Trigger reset is on\" logged");
        let done = pos("Device reset completed successfully")
            .expect("\"Device reset completed successfully\" logged");
        assert!(trigger < done, "reset log out of order");
        let dev = self.dev.as_ref().expect("driver present");
        assert!(
            dev.is_open() && !dev.is_failed(),
            "interface open and usable after the reset"
        );
    }
}

impl crate::pair::Pair<EnaNode> {
    /// Send `per_queue` distinct UDP frames (checksums filled by the
    /// sender, verified by the receiving device) on every open queue of
    /// `from` and return (sent, received): frames arrive on
    /// the queues RSS picks, so compare them as multisets
    /// ([`same_frames`]).
    pub fn exchange(&mut self, from: char, per_queue: usize) -> (Vec<Vec<u8>>, Vec<Received>) {
        let nq = self
            .node(from)
            .dev
            .as_ref()
            .map_or(0, |d| d.queue_config().num_queues);
        let (src, dst) = if from == 'a' {
            ([10, 0, 0, 1], [10, 0, 0, 2])
        } else {
            ([10, 0, 0, 2], [10, 0, 0, 1])
        };
        let mut sent = Vec::new();
        let mut got = Vec::new();
        // Only what this exchange sends counts.
        let to = if from == 'a' { 'b' } else { 'a' };
        self.node(to).take_received();
        for q in 0..nq {
            let frames: Vec<Vec<u8>> = (0..per_queue)
                .map(|i| {
                    let seed = (usize::from(q) * 31 + i) as u8;
                    FrameBuilder::udp4(src, dst, 1000 + q * 100 + i as u16, 7000)
                        .payload(&pattern(60 + i * 13, seed))
                        .csum(CsumMode::Full)
                        .build()
                })
                .collect();
            got.extend(self.transfer(from, q, &frames, false, 0));
            sent.extend(frames);
        }
        (sent, got)
    }

    /// Traffic works both ways: `per_queue` frames from every queue of each
    /// side arrive intact with good checksums.
    pub fn assert_traffic_both_ways(&mut self, per_queue: usize) {
        for side in ['a', 'b'] {
            let (sent, got) = self.exchange(side, per_queue);
            assert!(!sent.is_empty(), "node {side} has no open queues");
            if let Err(e) = same_frames(&got, &sent) {
                panic!("traffic from node {side}: {e}");
            }
            assert!(
                got.iter().all(|g| g.csum == RxChecksum::Good),
                "traffic from node {side}: checksum not good"
            );
        }
    }
}

/// Compare received frames with sent ones as multisets (RSS spreads them
/// over queues); the error says what differs without dumping bytes.
pub fn same_frames(got: &[Received], sent: &[Vec<u8>]) -> Result<(), String> {
    if got.len() != sent.len() {
        return Err(format!(
            "{} frames received, {} sent",
            got.len(),
            sent.len()
        ));
    }
    let mut a: Vec<&Vec<u8>> = got.iter().map(|g| &g.frame).collect();
    let mut b: Vec<&Vec<u8>> = sent.iter().collect();
    a.sort();
    b.sort();
    match a.iter().zip(&b).position(|(x, y)| x != y) {
        Some(i) => Err(format!(
            "frame {i} (sorted) differs: got {} bytes, sent {} bytes",
            a[i].len(),
            b[i].len()
        )),
        None => Ok(()),
    }
}

/// Count of each value, for distribution checks.
pub fn histogram<T: Ord + Copy>(items: impl IntoIterator<Item = T>) -> BTreeMap<T, usize> {
    let mut m = BTreeMap::new();
    for i in items {
        *m.entry(i).or_insert(0) += 1;
    }
    m
}
