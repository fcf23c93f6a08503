//! Admin queue wire formats: 64-byte AQ/ACQ entries, opcodes, status codes,
//! feature ids, and the bodies of every command (ena.md §3).
//!
//! Every command struct starts with the 4-byte [`AqCommon`] header and is
//! exactly its documented size; [`AqEntry::from_command`] copies it into a
//! zeroed 64-byte entry. Drivers may leave stale bytes past a command's size
//! (ena.md §3.2), so a device model must parse only `size_of::<Cmd>()` bytes.
//! Response bodies (`*Resp`, feature payloads) are laid out relative to ACQ
//! byte 8, i.e. the start of [`AcqEntry::data`]. Sub-modules hold the codes,
//! queue commands, GET_STATS and the feature payloads; all are re-exported
//! here, so `defs::admin::X` names every admin wire item.

pub mod codes;
pub mod feature;
pub mod flow_steering;
pub mod phc;
pub mod queues;
pub mod rss;
pub mod stats;

use zerocopy::{FromBytes, Immutable, IntoBytes};
use zerocopy_derive::{FromBytes, Immutable, IntoBytes, KnownLayout};

pub use codes::*;
pub use feature::*;
pub use flow_steering::*;
pub use phc::*;
pub use queues::*;
pub use rss::*;
pub use stats::*;

/// AQ depth in entries (ena.md §3.1).
pub const AQ_DEPTH: u16 = 32;
/// ACQ depth in entries (ena.md §3.1).
pub const ACQ_DEPTH: u16 = 32;
/// Size of one AQ or ACQ entry in bytes (ena.md §3.1).
pub const ADMIN_ENTRY_SIZE: u16 = 64;
/// Command ids are 12 bits (ena.md §3.2).
pub const COMMAND_ID_MASK: u16 = 0x0FFF;

/// 48-bit DMA address (`ena_common_mem_addr`, ena.md §0): low 32 bits, high
/// 16 bits, 16 reserved bits that must be zero.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct MemAddr {
    /// Address bits 31:0.
    pub lo: u32,
    /// Address bits 47:32.
    pub hi: u16,
    /// Must be zero.
    pub reserved: u16,
}
/// ENA spec: the common address struct is 8 bytes (ena.md §0).
const _: () = assert!(core::mem::size_of::<MemAddr>() == 8);

impl MemAddr {
    /// Mask of the 48 address bits a device can use.
    pub const ADDR_MASK: u64 = (1 << 48) - 1;

    /// Encode a bus address (bits above 47 are dropped; the driver checks the
    /// DMA width separately).
    pub const fn new(addr: u64) -> Self {
        MemAddr {
            lo: addr as u32,
            hi: (addr >> 32) as u16,
            reserved: 0,
        }
    }
    /// Decode to a 64-bit bus address.
    pub const fn get(&self) -> u64 {
        ((self.hi as u64) << 32) | self.lo as u64
    }
}

bitflags::bitflags! {
    /// AQ entry flags byte (ena.md §3.2).
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct AqFlags: u8 {
        /// Phase bit.
        const PHASE = 1 << 0;
        /// The control-buffer descriptor at bytes 4..16 is valid.
        const CTRL_DATA = 1 << 1;
        /// The control buffer is a page list (Linux sets this for flat buffers too).
        const CTRL_DATA_INDIRECT = 1 << 2;
    }
}

/// Common 4-byte header of every AQ entry (ena.md §3.2).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct AqCommon {
    /// Bits 11:0 command id; 15:12 reserved.
    pub command_id: u16,
    /// [`AdminOpcode`] value.
    pub opcode: u8,
    /// [`AqFlags`].
    pub flags: u8,
}
/// ENA spec: AQ common descriptor is 4 bytes (ena.md §3.2).
const _: () = assert!(core::mem::size_of::<AqCommon>() == 4);

impl AqCommon {
    /// Header for `opcode` with id 0 and no flags (the queue stamps id/phase).
    pub const fn new(opcode: AdminOpcode) -> Self {
        AqCommon {
            command_id: 0,
            opcode: opcode as u8,
            flags: 0,
        }
    }
}

/// Control-buffer descriptor at AQ bytes 4..16 (ena.md §3.2).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct CtrlBuffInfo {
    /// Buffer length in bytes.
    pub length: u32,
    /// Buffer address.
    pub address: MemAddr,
}
/// ENA spec: control buffer info is 12 bytes (ena.md §3.2).
const _: () = assert!(core::mem::size_of::<CtrlBuffInfo>() == 12);

/// One 64-byte AQ entry (ena.md §3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct AqEntry {
    /// Common header.
    pub common: AqCommon,
    /// Bytes 4..16: three inline dwords or a control-buffer descriptor.
    pub ctrl: CtrlBuffInfo,
    /// Bytes 16..64: command-specific dwords.
    pub body: [u8; 48],
}
/// ENA spec: AQ entries are 64 B (ena.md §3.2).
const _: () = assert!(core::mem::size_of::<AqEntry>() == ADMIN_ENTRY_SIZE as usize);

impl AqEntry {
    /// A zeroed entry with `cmd` copied into its first `size_of::<C>()` bytes.
    pub fn from_command<C: AdminCommand>(cmd: &C) -> Self {
        let mut entry = AqEntry::new_zeroed_entry();
        let src = cmd.as_bytes();
        let dst = entry.as_mut_bytes();
        let n = src.len().min(dst.len());
        dst[..n].copy_from_slice(&src[..n]);
        entry
    }
    /// An all-zero entry.
    pub fn new_zeroed_entry() -> Self {
        AqEntry {
            common: AqCommon::default(),
            ctrl: CtrlBuffInfo::default(),
            body: [0; 48],
        }
    }
    /// Parse the first `size_of::<C>()` bytes as command `C` (device model side).
    pub fn command<C: FromBytes>(&self) -> Option<C> {
        C::read_from_prefix(self.as_bytes()).ok().map(|(c, _)| c)
    }
    /// Command id (12 bits).
    pub fn command_id(&self) -> u16 {
        self.common.command_id & COMMAND_ID_MASK
    }
    /// Phase bit.
    pub fn phase(&self) -> bool {
        self.common.flags & AqFlags::PHASE.bits() != 0
    }
    /// Set the command id (masked to 12 bits) and phase bit.
    pub fn stamp(&mut self, command_id: u16, phase: bool) {
        self.common.command_id = command_id & COMMAND_ID_MASK;
        let flags = AqFlags::from_bits_retain(self.common.flags);
        self.common.flags = flags
            .difference(AqFlags::PHASE)
            .union(if phase {
                AqFlags::PHASE
            } else {
                AqFlags::empty()
            })
            .bits();
    }
}

/// A command that can be placed in an AQ entry: a zerocopy struct that
/// begins with [`AqCommon`] and is at most 64 bytes.
pub trait AdminCommand: IntoBytes + Immutable {
    /// Its opcode.
    const OPCODE: AdminOpcode;
}

bitflags::bitflags! {
    /// ACQ entry flags byte (ena.md §3.3).
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct AcqFlags: u8 {
        /// Phase bit.
        const PHASE = 1 << 0;
    }
}

/// Common 8-byte header of every ACQ entry (ena.md §3.3).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct AcqCommon {
    /// Bits 11:0: id of the command this completes.
    pub command: u16,
    /// [`AdminStatus`] value.
    pub status: u8,
    /// [`AcqFlags`].
    pub flags: u8,
    /// Extra detail for some errors (values unpublished, ena.md §11).
    pub extended_status: u16,
    /// AQ entries consumed; unused by drivers.
    pub sq_head_indx: u16,
}
/// ENA spec: ACQ common descriptor is 8 bytes (ena.md §3.3).
const _: () = assert!(core::mem::size_of::<AcqCommon>() == 8);

/// One 64-byte ACQ entry (ena.md §3.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct AcqEntry {
    /// Common header.
    pub common: AcqCommon,
    /// Bytes 8..64: response-specific data (GET_FEATURE payloads start here).
    pub data: [u8; 56],
}
/// ENA spec: ACQ entries are 64 B (ena.md §3.3).
const _: () = assert!(core::mem::size_of::<AcqEntry>() == ADMIN_ENTRY_SIZE as usize);

/// Byte offset of the phase flags byte in an ACQ entry (ena.md §3.3).
pub const ACQ_FLAGS_OFFSET: usize = 3;
/// Byte offset of the response data in an ACQ entry (ena.md §3.3).
pub const ACQ_DATA_OFFSET: usize = 8;

impl AcqEntry {
    /// Completion for `command_id` with `status`, phase and `payload` at byte 8
    /// (device model side).
    pub fn new<T: IntoBytes + Immutable + ?Sized>(
        command_id: u16,
        status: AdminStatus,
        phase: bool,
        payload: &T,
    ) -> Self {
        let mut e = AcqEntry {
            common: AcqCommon::default(),
            data: [0; 56],
        };
        e.common.command = command_id & COMMAND_ID_MASK;
        e.common.status = status as u8;
        e.common.flags = if phase { AcqFlags::PHASE.bits() } else { 0 };
        let src = payload.as_bytes();
        let n = src.len().min(e.data.len());
        e.data[..n].copy_from_slice(&src[..n]);
        e
    }
    /// Command id (12 bits).
    pub fn command_id(&self) -> u16 {
        self.common.command & COMMAND_ID_MASK
    }
    /// Phase bit.
    pub fn phase(&self) -> bool {
        self.common.flags & AcqFlags::PHASE.bits() != 0
    }
    /// Parse the response data as `T` (GET_FEATURE payload, CREATE_* response).
    pub fn response<T: FromBytes>(&self) -> Option<T> {
        T::read_from_prefix(&self.data).ok().map(|(t, _)| t)
    }
}

/// GET/SET_FEATURE select: current value (ena.md §3.6).
pub const FEATURE_SELECT_CURRENT: u8 = 1;
/// GET/SET_FEATURE select: default value (ena.md §3.6).
pub const FEATURE_SELECT_DEFAULT: u8 = 3;
/// Select field mask (bits 1:0).
pub const FEATURE_SELECT_MASK: u8 = 0x3;

/// GET/SET_FEATURE common descriptor at AQ bytes 16..20 (ena.md §3.6).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct FeatureCommon {
    /// Bits 1:0 select (1 current, 3 default).
    pub flags: u8,
    /// [`FeatureId`] value.
    pub feature_id: u8,
    /// Driver's maximum version (device answers its own).
    pub feature_version: u8,
    /// Reserved.
    pub reserved: u8,
}
/// ENA spec: get/set feature common descriptor is 4 bytes (ena.md §3.6).
const _: () = assert!(core::mem::size_of::<FeatureCommon>() == 4);

/// Room for a SET_FEATURE payload (AQ bytes 20..64).
pub const SET_FEATURE_PAYLOAD_SIZE: usize = 44;

/// GET_FEATURE command, 64 bytes (ena.md §3.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct GetFeatureCmd {
    /// Common header.
    pub common: AqCommon,
    /// Optional control buffer (RSS key/table/hash input).
    pub ctrl: CtrlBuffInfo,
    /// Feature selector.
    pub feat: FeatureCommon,
    /// Unused dwords.
    pub raw: [u32; 11],
}
/// ENA spec: GET_FEATURE fills the whole 64-byte entry (ena.md §3.6).
const _: () = assert!(core::mem::size_of::<GetFeatureCmd>() == 64);

impl AdminCommand for GetFeatureCmd {
    const OPCODE: AdminOpcode = AdminOpcode::GetFeature;
}

impl GetFeatureCmd {
    /// GET_FEATURE `id` at the driver's version, current value, no buffer.
    pub fn new(id: FeatureId) -> Self {
        GetFeatureCmd {
            common: AqCommon::new(AdminOpcode::GetFeature),
            ctrl: CtrlBuffInfo::default(),
            feat: FeatureCommon {
                flags: FEATURE_SELECT_CURRENT,
                feature_id: id.id(),
                feature_version: id.driver_version(),
                reserved: 0,
            },
            raw: [0; 11],
        }
    }
    /// Attach a control buffer (Linux sets only the indirect flag, ena.md §3.2).
    pub fn with_ctrl_buffer(mut self, addr: u64, len: u32) -> Self {
        self.common.flags |= AqFlags::CTRL_DATA_INDIRECT.bits();
        self.ctrl = CtrlBuffInfo {
            length: len,
            address: MemAddr::new(addr),
        };
        self
    }
}

/// SET_FEATURE command, 64 bytes; payload at AQ byte 20 (ena.md §3.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct SetFeatureCmd {
    /// Common header.
    pub common: AqCommon,
    /// Optional control buffer.
    pub ctrl: CtrlBuffInfo,
    /// Feature selector.
    pub feat: FeatureCommon,
    /// Feature payload (parse with `T::read_from_prefix`).
    pub payload: [u8; SET_FEATURE_PAYLOAD_SIZE],
}
/// ENA spec: SET_FEATURE fills the whole 64-byte entry (ena.md §3.6).
const _: () = assert!(core::mem::size_of::<SetFeatureCmd>() == 64);

impl AdminCommand for SetFeatureCmd {
    const OPCODE: AdminOpcode = AdminOpcode::SetFeature;
}

impl SetFeatureCmd {
    /// SET_FEATURE `id` with `payload` copied to AQ byte 20.
    pub fn new<T: IntoBytes + Immutable + ?Sized>(id: FeatureId, payload: &T) -> Self {
        let mut cmd = SetFeatureCmd {
            common: AqCommon::new(AdminOpcode::SetFeature),
            ctrl: CtrlBuffInfo::default(),
            feat: FeatureCommon {
                flags: 0,
                feature_id: id.id(),
                feature_version: id.driver_version(),
                reserved: 0,
            },
            payload: [0; SET_FEATURE_PAYLOAD_SIZE],
        };
        let src = payload.as_bytes();
        let n = src.len().min(SET_FEATURE_PAYLOAD_SIZE);
        cmd.payload[..n].copy_from_slice(&src[..n]);
        cmd
    }
    /// Attach a control buffer (indirect flag, as Linux does; ena.md §3.2).
    pub fn with_ctrl_buffer(mut self, addr: u64, len: u32) -> Self {
        self.common.flags |= AqFlags::CTRL_DATA_INDIRECT.bits();
        self.ctrl = CtrlBuffInfo {
            length: len,
            address: MemAddr::new(addr),
        };
        self
    }
    /// Parse the payload as `T` (device model side).
    pub fn payload_as<T: FromBytes>(&self) -> Option<T> {
        T::read_from_prefix(&self.payload).ok().map(|(t, _)| t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_cq_entry_bytes() {
        let mut e = AqEntry::from_command(&CreateCqCmd::new(4, 1024, 3, 0x1_2345_6000));
        e.stamp(5, true);
        let b = e.as_bytes();
        assert_eq!(&b[0..4], &[5, 0, 3, 1]); // id 5, opcode CREATE_CQ, phase
        assert_eq!(b[4], 0x20); // interrupt mode bit 5
        assert_eq!(b[5], 4); // 4 dwords
        assert_eq!(&b[6..8], &1024u16.to_le_bytes());
        assert_eq!(&b[8..12], &3u32.to_le_bytes());
        assert_eq!(&b[12..20], &[0x00, 0x60, 0x45, 0x23, 0x01, 0x00, 0, 0]);
        assert!(b[20..].iter().all(|&x| x == 0));
        let back: CreateCqCmd = e.command().unwrap();
        assert_eq!(back.cq_ba.get(), 0x1_2345_6000);
        assert_eq!(back.entry_size_words(), 4);
        assert_eq!(e.command_id(), 5);
        assert!(e.phase());
    }

    #[test]
    fn create_sq_and_features() {
        let sq = CreateSqCmd::new(SqDirection::Tx, 7, 512, None);
        let e = AqEntry::from_command(&sq);
        let b = e.as_bytes();
        assert_eq!(b[2], 1);
        assert_eq!(b[4], 0x20); // TX = 1 << 5
        assert_eq!(b[6], PLACEMENT_POLICY_DEV);
        assert_eq!(b[7], 1);
        assert_eq!(&b[8..12], &[7, 0, 0, 2]);
        let set = SetFeatureCmd::new(FeatureId::Mtu, &MtuFeature { mtu: 9001 });
        let b = AqEntry::from_command(&set);
        let bytes = b.as_bytes();
        assert_eq!(bytes[2], 9);
        assert_eq!(bytes[17], 14);
        assert_eq!(&bytes[20..24], &9001u32.to_le_bytes());
        let get = GetFeatureCmd::new(FeatureId::Llq).with_ctrl_buffer(0x1000, 48);
        let bytes = AqEntry::from_command(&get);
        let bytes = bytes.as_bytes();
        assert_eq!(bytes[3], AqFlags::CTRL_DATA_INDIRECT.bits());
        assert_eq!((bytes[16], bytes[17], bytes[18]), (1, 4, 1));
        assert_eq!(&bytes[4..8], &48u32.to_le_bytes());
    }

    #[test]
    fn acq_round_trip() {
        let resp = CreateCqResp {
            cq_idx: 3,
            cq_actual_depth: 256,
            cq_interrupt_unmask_register_offset: 0x1000,
            ..Default::default()
        };
        let e = AcqEntry::new(17, AdminStatus::Success, true, &resp);
        let b = e.as_bytes();
        assert_eq!(&b[0..4], &[17, 0, 0, 1]);
        assert_eq!(&b[8..10], &[3, 0]);
        let parsed = AcqEntry::read_from_bytes(b).unwrap();
        assert_eq!(parsed.response::<CreateCqResp>().unwrap(), resp);
        assert!(parsed.phase());
        assert_eq!(AdminStatus::from_u8(7), Some(AdminStatus::ResourceBusy));
        assert_eq!(AdminStatus::from_u8(8), None);
        assert_eq!(FeatureId::from_u8(20), Some(FeatureId::InterruptModeration));
        assert_eq!(FeatureId::AenqConfig.bit(), 1 << 26);
    }
}
