//! Asynchronous Event Notification Queue wire format (ena.md §4).

use zerocopy::FromBytes;
use zerocopy_derive::{FromBytes, Immutable, IntoBytes, KnownLayout};

use super::admin::HwHints;

/// AENQ depth in entries (ena.md §4).
pub const AENQ_DEPTH: u16 = 16;
/// AENQ entry size in bytes (ena.md §4).
pub const AENQ_ENTRY_SIZE: u16 = 64;
/// Payload bytes after the 16-byte header.
pub const AENQ_PAYLOAD_SIZE: usize = 48;
/// Byte offset of the flags (phase) byte in an entry.
pub const AENQ_FLAGS_OFFSET: usize = 4;
/// Flags bit 0: phase.
pub const AENQ_FLAG_PHASE: u8 = 1 << 0;

/// AENQ groups (ena.md §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u16)]
pub enum AenqGroup {
    /// Link state changed.
    LinkChange = 0,
    /// Fatal error.
    FatalError = 1,
    /// Warning.
    Warning = 2,
    /// Notification (syndrome says which).
    Notification = 3,
    /// Keep-alive (about every 1 s).
    KeepAlive = 4,
    /// Device capabilities changed: reset with reason NORMAL.
    RefreshCapabilities = 5,
    /// Sub-optimal configuration notifications.
    ConfNotifications = 6,
    /// Device asks for a reset (reason DEVICE_REQUEST).
    DeviceRequestReset = 7,
}

/// Number of defined groups (bitmap width used).
pub const AENQ_GROUPS_NUM: u16 = 8;

impl AenqGroup {
    /// Decode a wire group; unknown values are `None` (counted, logged).
    pub const fn from_u16(v: u16) -> Option<Self> {
        Some(match v {
            0 => AenqGroup::LinkChange,
            1 => AenqGroup::FatalError,
            2 => AenqGroup::Warning,
            3 => AenqGroup::Notification,
            4 => AenqGroup::KeepAlive,
            5 => AenqGroup::RefreshCapabilities,
            6 => AenqGroup::ConfNotifications,
            7 => AenqGroup::DeviceRequestReset,
            _ => return None,
        })
    }
    /// Bit of this group in the AENQ_CONFIG bitmaps.
    pub const fn bit(self) -> u32 {
        1u32 << (self as u16)
    }
}

/// Groups the driver enables: {0,1,2,3,4,6,7} (ena.md §4), intersected with
/// the device's supported groups.
pub const AENQ_ENABLED_GROUPS_MASK: u32 = 0xDF;

/// NOTIFICATION syndrome: historic suspend (ena.md §4).
pub const NOTIFICATION_SYNDROME_SUSPEND: u16 = 0;
/// NOTIFICATION syndrome: historic resume.
pub const NOTIFICATION_SYNDROME_RESUME: u16 = 1;
/// NOTIFICATION syndrome: new HW hints in the payload.
pub const NOTIFICATION_SYNDROME_UPDATE_HINTS: u16 = 2;

/// LINK_CHANGE payload flags bit 0: link up (ena.md §4).
pub const LINK_CHANGE_FLAG_LINK_UP: u32 = 1 << 0;

/// AENQ entry header, 16 bytes (ena.md §4).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct AenqCommon {
    /// [`AenqGroup`] value.
    pub group: u16,
    /// Group-specific syndrome.
    pub syndrome: u16,
    /// Bit 0 phase.
    pub flags: u8,
    /// Reserved.
    pub reserved: [u8; 3],
    /// Timestamp, low.
    pub timestamp_low: u32,
    /// Timestamp, high.
    pub timestamp_high: u32,
}
/// ENA spec: AENQ header is 16 bytes (ena.md §4).
const _: () = assert!(core::mem::size_of::<AenqCommon>() == 16);

/// One 64-byte AENQ entry (ena.md §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct AenqEntry {
    /// Header.
    pub common: AenqCommon,
    /// Group-specific payload.
    pub payload: [u8; AENQ_PAYLOAD_SIZE],
}
/// ENA spec: AENQ entries are 16 × 64 B (ena.md §4).
const _: () = assert!(core::mem::size_of::<AenqEntry>() == AENQ_ENTRY_SIZE as usize);

impl AenqEntry {
    /// Build an entry (device model side).
    pub fn new<T: zerocopy::IntoBytes + zerocopy::Immutable + ?Sized>(
        group: AenqGroup,
        syndrome: u16,
        phase: bool,
        timestamp: u64,
        payload: &T,
    ) -> Self {
        let mut e = AenqEntry {
            common: AenqCommon {
                group: group as u16,
                syndrome,
                flags: if phase { AENQ_FLAG_PHASE } else { 0 },
                reserved: [0; 3],
                timestamp_low: timestamp as u32,
                timestamp_high: (timestamp >> 32) as u32,
            },
            payload: [0; AENQ_PAYLOAD_SIZE],
        };
        let src = payload.as_bytes();
        let n = src.len().min(AENQ_PAYLOAD_SIZE);
        e.payload[..n].copy_from_slice(&src[..n]);
        e
    }
    /// Phase bit.
    pub fn phase(&self) -> bool {
        self.common.flags & AENQ_FLAG_PHASE != 0
    }
    /// 64-bit timestamp.
    pub fn timestamp(&self) -> u64 {
        (u64::from(self.common.timestamp_high) << 32) | u64::from(self.common.timestamp_low)
    }
    /// Parse the payload as `T`.
    pub fn payload_as<T: FromBytes>(&self) -> Option<T> {
        T::read_from_prefix(&self.payload).ok().map(|(t, _)| t)
    }
    /// HW hints carried by an UPDATE_HINTS notification.
    pub fn hints(&self) -> Option<HwHints> {
        self.payload_as()
    }
}

/// LINK_CHANGE payload at entry byte 16 (ena.md §4).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct LinkChangePayload {
    /// Bit 0 link up.
    pub flags: u32,
}
/// ENA spec: link-change payload is one dword (ena.md §4).
const _: () = assert!(core::mem::size_of::<LinkChangePayload>() == 4);

/// KEEP_ALIVE payload at entry byte 16: cumulative drop counters (ena.md §4).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct KeepAlivePayload {
    /// RX drops, low.
    pub rx_drops_low: u32,
    /// RX drops, high.
    pub rx_drops_high: u32,
    /// TX drops, low.
    pub tx_drops_low: u32,
    /// TX drops, high.
    pub tx_drops_high: u32,
    /// RX overruns, low.
    pub rx_overruns_low: u32,
    /// RX overruns, high.
    pub rx_overruns_high: u32,
}
/// ENA spec: keep-alive carries 3 lo/hi pairs (ena.md §4).
const _: () = assert!(core::mem::size_of::<KeepAlivePayload>() == 24);

impl KeepAlivePayload {
    /// Encode (device model side).
    pub fn new(rx_drops: u64, tx_drops: u64, rx_overruns: u64) -> Self {
        KeepAlivePayload {
            rx_drops_low: rx_drops as u32,
            rx_drops_high: (rx_drops >> 32) as u32,
            tx_drops_low: tx_drops as u32,
            tx_drops_high: (tx_drops >> 32) as u32,
            rx_overruns_low: rx_overruns as u32,
            rx_overruns_high: (rx_overruns >> 32) as u32,
        }
    }
    /// RX drops.
    pub fn rx_drops(&self) -> u64 {
        (u64::from(self.rx_drops_high) << 32) | u64::from(self.rx_drops_low)
    }
    /// TX drops.
    pub fn tx_drops(&self) -> u64 {
        (u64::from(self.tx_drops_high) << 32) | u64::from(self.tx_drops_low)
    }
    /// RX overruns.
    pub fn rx_overruns(&self) -> u64 {
        (u64::from(self.rx_overruns_high) << 32) | u64::from(self.rx_overruns_low)
    }
}

/// CONF_NOTIFICATIONS payload at entry byte 16 (ena.md §4).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct ConfNotificationsPayload {
    /// Bit n set = sub-optimal configuration code n + 1.
    pub notifications_bitmap: u64,
    /// Reserved.
    pub reserved: u64,
}
/// ENA spec: conf-notification payload is 2 × u64 (ena.md §4).
const _: () = assert!(core::mem::size_of::<ConfNotificationsPayload>() == 16);

#[cfg(test)]
mod tests {
    use super::*;
    use zerocopy::IntoBytes;

    #[test]
    fn keep_alive_round_trip() {
        let ka = KeepAlivePayload::new(0x1_0000_0002, 3, 4);
        let e = AenqEntry::new(AenqGroup::KeepAlive, 0, true, 0x5_0000_0006, &ka);
        let b = e.as_bytes();
        assert_eq!(&b[0..2], &4u16.to_le_bytes());
        assert_eq!(b[AENQ_FLAGS_OFFSET], 1);
        assert_eq!(&b[8..12], &6u32.to_le_bytes());
        assert_eq!(&b[16..20], &2u32.to_le_bytes());
        assert_eq!(&b[20..24], &1u32.to_le_bytes());
        let back = AenqEntry::read_from_bytes(b).unwrap();
        let p: KeepAlivePayload = back.payload_as().unwrap();
        assert_eq!(
            (p.rx_drops(), p.tx_drops(), p.rx_overruns()),
            (0x1_0000_0002, 3, 4)
        );
        assert_eq!(back.timestamp(), 0x5_0000_0006);
        assert_eq!(AenqGroup::from_u16(8), None);
        let mask = [0u16, 1, 2, 3, 4, 6, 7]
            .iter()
            .fold(0u32, |m, g| m | AenqGroup::from_u16(*g).unwrap().bit());
        assert_eq!(mask, AENQ_ENABLED_GROUPS_MASK);
    }
}
