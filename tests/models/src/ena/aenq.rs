//! The Asynchronous Event Notification Queue (ena.md §4): entries with the
//! phase bit, room given by the driver's free-running head doorbell (it
//! starts at the depth, 16), keep-alive about every second while the group
//! is enabled, link changes, hints and device-requested resets.
//!
//! Events that find no room (or an unconfigured queue) wait in a short
//! pending list and are written when the head doorbell makes room; at most
//! one keep-alive waits at a time.

use std::collections::VecDeque;

use cloudnic_ena::defs::aenq::{
    AenqEntry, AenqGroup, KeepAlivePayload, LinkChangePayload, AENQ_ENTRY_SIZE, AENQ_PAYLOAD_SIZE,
    LINK_CHANGE_FLAG_LINK_UP, NOTIFICATION_SYNDROME_UPDATE_HINTS,
};
use cloudnic_ena::defs::regs::queue_caps_decode;
use zerocopy::IntoBytes;

use super::counters::AENQ_GROUP_SLOTS;
use super::EnaModel;
use crate::mem::GuestMemory;

/// Events that may wait for room before new ones are discarded.
const AENQ_PENDING_LIMIT: usize = 64;

/// One event waiting for room: group, syndrome, payload.
#[derive(Clone, Debug)]
struct PendingEvent {
    group: u16,
    syndrome: u16,
    payload: [u8; AENQ_PAYLOAD_SIZE],
}

/// AENQ registers and ring position.
#[derive(Debug)]
pub(crate) struct AenqState {
    pub(crate) base: u64,
    pub(crate) caps: u32,
    depth: u16,
    tail: u16,
    phase: bool,
    /// Free-running head the driver last wrote; entries below it are free.
    head_db: u16,
    pub(crate) enabled_groups: u32,
    pending: VecDeque<PendingEvent>,
    next_keep_alive: Option<u64>,
}

impl Default for AenqState {
    fn default() -> Self {
        AenqState {
            base: 0,
            caps: 0,
            depth: 0,
            tail: 0,
            phase: true,
            head_db: 0,
            enabled_groups: 0,
            pending: VecDeque::new(),
            next_keep_alive: None,
        }
    }
}

impl AenqState {
    /// AENQ_CAPS: depth and entry size; restarts the ring.
    pub(crate) fn set_caps(&mut self, val: u32) {
        let (depth, entry) = queue_caps_decode(val);
        self.caps = val;
        self.depth = if depth.is_power_of_two() && entry == AENQ_ENTRY_SIZE {
            depth
        } else {
            0
        };
        self.tail = 0;
        self.phase = true;
        self.head_db = 0;
    }
    fn has_room(&self) -> bool {
        self.depth != 0 && self.base != 0 && (self.head_db.wrapping_sub(self.tail) as i16) > 0
    }
    /// Enable groups; arms the keep-alive timer when its group turns on.
    pub(crate) fn set_enabled(&mut self, groups: u32, now: u64, interval: u64) {
        let ka = AenqGroup::KeepAlive.bit();
        if groups & ka != 0 && self.enabled_groups & ka == 0 {
            self.next_keep_alive = Some(now.saturating_add(interval));
        } else if groups & ka == 0 {
            self.next_keep_alive = None;
        }
        self.enabled_groups = groups;
    }
}

impl<M: GuestMemory + ?Sized> EnaModel<M> {
    /// AENQ_HEAD_DB: the driver's free-running head; write waiting events.
    pub(crate) fn aenq_head_doorbell(&mut self, head: u16) {
        self.counters.aenq_doorbells += 1;
        self.aenq.head_db = head;
        self.aenq_flush();
    }

    fn aenq_flush(&mut self) {
        let mut wrote = false;
        while self.aenq.has_room() {
            let Some(ev) = self.aenq.pending.pop_front() else {
                break;
            };
            let Some(group) = AenqGroup::from_u16(ev.group) else {
                continue;
            };
            let depth = self.aenq.depth;
            let slot = u64::from(self.aenq.tail & (depth - 1));
            let entry =
                AenqEntry::new(group, ev.syndrome, self.aenq.phase, self.now(), &ev.payload);
            self.dma_write(
                self.aenq.base + slot * u64::from(AENQ_ENTRY_SIZE),
                entry.as_bytes(),
            );
            self.aenq.tail = self.aenq.tail.wrapping_add(1);
            if self.aenq.tail & (depth - 1) == 0 {
                self.aenq.phase = !self.aenq.phase;
            }
            if let Some(c) = self
                .counters
                .aenq_events
                .get_mut(usize::from(ev.group).min(AENQ_GROUP_SLOTS - 1))
            {
                *c += 1;
            }
            wrote = true;
        }
        if wrote {
            self.raise_mgmt(true);
        }
    }

    /// Queue an event for `group` if the driver enabled it.
    fn aenq_post(&mut self, group: AenqGroup, syndrome: u16, payload: &[u8]) {
        self.post_raw_event(group as u16, syndrome, payload);
    }

    /// Queue an event with any group number (unknown groups are dropped at
    /// write time: the wire helper only encodes defined groups).
    pub(crate) fn post_raw_event(&mut self, group: u16, syndrome: u16, payload: &[u8]) {
        let enabled = group < 32 && self.aenq.enabled_groups & (1u32 << group) != 0;
        if !enabled || self.aenq.pending.len() >= AENQ_PENDING_LIMIT {
            self.counters.aenq_dropped += 1;
            return;
        }
        let mut p = [0u8; AENQ_PAYLOAD_SIZE];
        let n = payload.len().min(AENQ_PAYLOAD_SIZE);
        p[..n].copy_from_slice(&payload[..n]);
        self.aenq.pending.push_back(PendingEvent {
            group,
            syndrome,
            payload: p,
        });
        self.aenq_flush();
    }

    /// Keep-alive every `keep_alive_interval_us` while the group is enabled.
    pub(crate) fn keep_alive_timer(&mut self, now: u64) {
        let interval = self.cfg.keep_alive_interval_us.max(1);
        while let Some(due) = self.aenq.next_keep_alive {
            if due > now {
                break;
            }
            self.aenq.next_keep_alive = Some(due.saturating_add(interval));
            let waiting = self
                .aenq
                .pending
                .iter()
                .any(|e| e.group == AenqGroup::KeepAlive as u16);
            if self.faults.keep_alive_lost() || waiting {
                continue;
            }
            let s = self.stats;
            let ka = KeepAlivePayload::new(s.rx_drops, s.tx_drops, s.rx_overruns);
            self.aenq_post(AenqGroup::KeepAlive, 0, ka.as_bytes());
        }
    }

    /// Change the link state and announce it (LINK_CHANGE, ena.md §4).
    pub(crate) fn set_link(&mut self, up: bool) {
        self.link_up = up;
        let flags = if up { LINK_CHANGE_FLAG_LINK_UP } else { 0 };
        self.aenq_post(
            AenqGroup::LinkChange,
            0,
            LinkChangePayload { flags }.as_bytes(),
        );
    }

    /// Announce a link that is up when the driver turns the LINK_CHANGE
    /// group on (`before` = groups enabled until now). Upstream Linux starts
    /// with the carrier off and turns it on only from a LINK_CHANGE event,
    /// at probe and again after every reset (tests_upstream.rs), so a device
    /// must report the initial link state this way.
    pub(crate) fn announce_link_if_enabled(&mut self, before: u32) {
        let bit = AenqGroup::LinkChange.bit();
        if self.link_up && before & bit == 0 && self.aenq.enabled_groups & bit != 0 {
            self.aenq_post(
                AenqGroup::LinkChange,
                0,
                LinkChangePayload {
                    flags: LINK_CHANGE_FLAG_LINK_UP,
                }
                .as_bytes(),
            );
        }
    }

    /// DEVICE_REQUEST_RESET (group 7): the driver resets with reason 19.
    pub(crate) fn post_device_request_reset(&mut self) {
        self.aenq_post(AenqGroup::DeviceRequestReset, 0, &[]);
    }

    /// NOTIFICATION / UPDATE_HINTS with the configured hints.
    pub(crate) fn post_hints_notification(&mut self) {
        let hints = self.cfg.hints;
        self.aenq_post(
            AenqGroup::Notification,
            NOTIFICATION_SYNDROME_UPDATE_HINTS,
            hints.as_bytes(),
        );
    }
}
