//! Hardware channel (HWC) wire formats: the init EQE payloads, the SoC
//! reconfiguration/service payloads, the inline TX OOB of an HWC request WQE
//! and the RX OOB of an HWC response CQE (mana.md §3.2, §3.3).

use zerocopy_derive::{FromBytes, Immutable, IntoBytes, KnownLayout};

use super::{get_bits, put_bits};

/// Max request message size Linux assumes before init data arrives (mana.md §3.2).
pub const HWC_MAX_REQUEST_SIZE: u32 = 0x1000;
/// Max response message size.
pub const HWC_MAX_RESPONSE_SIZE: u32 = 0x1000;
/// Linux's bootstrap (and only) HWC queue depth (mana.md §3.2).
pub const HWC_BOOTSTRAP_QUEUE_DEPTH: u16 = 1;
/// log2 interrupt throttle of the HWC EQ (mana.md §4.6).
pub const HWC_EQ_LOG2_THROTTLE: u32 = 4;
/// Each HWC queue is one 4 KiB page (one PFN per queue in ESTABLISH_HWC, mana.md §2).
pub const HWC_QUEUE_SIZE: u32 = 4096;
/// Default HWC command timeout in ms (mana.md §3.5).
pub const HWC_DEFAULT_TIMEOUT_MS: u32 = 30_000;
/// After a command timed out Linux shortens later waits to 1 ms (mana.md §3.5).
pub const HWC_TIMEOUT_AFTER_FAILURE_MS: u32 = 1;
/// Wait for HWC_INIT_DONE, ms (mana.md §3.5).
pub const HWC_INIT_DONE_TIMEOUT_MS: u32 = 60_000;
/// Wait for the TEST_EVENT EQE, ms (mana.md §3.5).
pub const EQ_TEST_EVENT_TIMEOUT_MS: u32 = 30_000;

/// HWC_INIT_EQ_ID_DB payload (`details[0]`): bits 0–15 HWC EQ id, 16–31
/// doorbell page index (mana.md §3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HwcInitEqIdDb(pub u32);

impl HwcInitEqIdDb {
    /// Encode.
    pub const fn new(eq_id: u16, doorbell: u16) -> Self {
        HwcInitEqIdDb(eq_id as u32 | (doorbell as u32) << 16)
    }
    /// HWC EQ id.
    pub const fn eq_id(self) -> u16 {
        (self.0 & 0xFFFF) as u16
    }
    /// Doorbell page index of the HWC.
    pub const fn doorbell(self) -> u16 {
        (self.0 >> 16) as u16
    }
}

/// HWC init-data types carried in HWC_INIT_DATA EQEs (mana.md §3.2).
pub mod init_data {
    /// HWC CQ id.
    pub const CQID: u8 = 1;
    /// HWC RQ id.
    pub const RQID: u8 = 2;
    /// HWC SQ id.
    pub const SQID: u8 = 3;
    /// Max HWC queue depth.
    pub const QUEUE_DEPTH: u8 = 4;
    /// Max request bytes.
    pub const MAX_REQUEST: u8 = 5;
    /// Max response bytes.
    pub const MAX_RESPONSE: u8 = 6;
    /// Size of the device CQ id space.
    pub const MAX_NUM_CQS: u8 = 7;
    /// Protection domain id of the HWC.
    pub const PDID: u8 = 8;
    /// Memory key for HWC SGEs.
    pub const GPA_MKEY: u8 = 9;
    /// Destination virtual RQ id (PF only).
    pub const PF_DEST_RQ_ID: u8 = 10;
    /// Destination virtual CQ id (PF only).
    pub const PF_DEST_CQ_ID: u8 = 11;
}

/// SOC_RECONFIG_DATA types (mana.md §3.2).
pub mod reconfig_data {
    /// New HWC timeout in ms.
    pub const HWC_TIMEOUT: u8 = 1;
    /// Hardware link connected (carrier on).
    pub const LINK_CONNECT: u8 = 2;
    /// Hardware link disconnected (carrier off).
    pub const LINK_DISCONNECT: u8 = 3;
}

/// SOC_SERVICE types (mana.md §3.2).
pub mod soc_service {
    /// RDMA suspend.
    pub const RDMA_SUSPEND: u8 = 1;
    /// RDMA resume.
    pub const RDMA_RESUME: u8 = 2;
}

/// Value/type split of HWC_INIT_DATA and SOC_RECONFIG_DATA `details[0]`: bits
/// 0–23 value, 24–31 type (mana.md §3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HwcTypeData(pub u32);

impl HwcTypeData {
    /// Value field mask.
    pub const VALUE_MASK: u32 = 0x00FF_FFFF;
    const TYPE_SHIFT: u32 = 24;
    /// Encode; `value` is truncated to 24 bits.
    pub const fn new(data_type: u8, value: u32) -> Self {
        HwcTypeData((value & Self::VALUE_MASK) | (data_type as u32) << Self::TYPE_SHIFT)
    }
    /// Type.
    pub const fn data_type(self) -> u8 {
        (self.0 >> Self::TYPE_SHIFT) as u8
    }
    /// Value.
    pub const fn value(self) -> u32 {
        self.0 & Self::VALUE_MASK
    }
}

/// SOC_SERVICE `details[0]`: bits 0–27 value, 28–31 type (mana.md §3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HwcSocService(pub u32);

impl HwcSocService {
    const VALUE_MASK: u32 = 0x0FFF_FFFF;
    const TYPE_SHIFT: u32 = 28;
    /// Encode.
    pub const fn new(service_type: u8, value: u32) -> Self {
        HwcSocService(
            (value & Self::VALUE_MASK) | put_bits(service_type as u32, Self::TYPE_SHIFT, 0xF),
        )
    }
    /// Service type.
    pub const fn service_type(self) -> u8 {
        get_bits(self.0, Self::TYPE_SHIFT, 0xF) as u8
    }
    /// Value.
    pub const fn value(self) -> u32 {
        self.0 & Self::VALUE_MASK
    }
}

/// Inline OOB of an HWC request WQE, 24 bytes (`hwc_tx_oob`, mana.md §3.3).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct HwcTxOob {
    /// Reserved.
    pub reserved1: u32,
    /// Reserved.
    pub reserved2: u32,
    /// Bits 0–23 destination virtual RQ id (PF only; 0 on a VF), 24–31 dest VF id.
    pub vrq: u32,
    /// Bits 0–23 destination virtual RCQ id (PF only).
    pub vrcq: u32,
    /// Bits 0–23 HWC CQ id, 24 loopback, 25 lso_override, 26 dest_pf.
    pub vscq: u32,
    /// Bits 0–23 HWC SQ id.
    pub vsq: u32,
}
/// MANA: the HWC TX OOB is 24 bytes (mana.md §3.3).
const _: () = assert!(core::mem::size_of::<HwcTxOob>() == 24);

/// 24-bit queue-id mask used by HWC OOB fields.
pub const HWC_QUEUE_ID_MASK: u32 = 0x00FF_FFFF;

impl HwcTxOob {
    /// `vscq` bit 24: loopback.
    pub const LOOPBACK: u32 = 1 << 24;
    /// `vscq` bit 25: LSO override.
    pub const LSO_OVERRIDE: u32 = 1 << 25;
    /// `vscq` bit 26: destination is the PF.
    pub const DEST_PF: u32 = 1 << 26;

    /// The OOB a VF sends: its CQ and SQ ids, destinations 0 (mana.md §3.3).
    pub const fn vf(cq_id: u32, sq_id: u32) -> Self {
        HwcTxOob {
            reserved1: 0,
            reserved2: 0,
            vrq: 0,
            vrcq: 0,
            vscq: cq_id & HWC_QUEUE_ID_MASK,
            vsq: sq_id & HWC_QUEUE_ID_MASK,
        }
    }
    /// The OOB a PF sends, with the destination RQ/CQ from init data types 10/11.
    pub const fn pf(cq_id: u32, sq_id: u32, dest_rq: u32, dest_cq: u32) -> Self {
        HwcTxOob {
            reserved1: 0,
            reserved2: 0,
            vrq: dest_rq & HWC_QUEUE_ID_MASK,
            vrcq: dest_cq & HWC_QUEUE_ID_MASK,
            vscq: (cq_id & HWC_QUEUE_ID_MASK) | Self::DEST_PF,
            vsq: sq_id & HWC_QUEUE_ID_MASK,
        }
    }
    /// HWC CQ id (device model side).
    pub const fn cq_id(&self) -> u32 {
        self.vscq & HWC_QUEUE_ID_MASK
    }
    /// HWC SQ id.
    pub const fn sq_id(&self) -> u32 {
        self.vsq & HWC_QUEUE_ID_MASK
    }
}

/// CQE data of an HWC completion, 32 bytes (`hwc_rx_oob`, mana.md §3.3).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct HwcRxOob {
    /// Bits 0–5 type, 6 eom, 7 som, 8–15 vendor error.
    pub flags: u32,
    /// Bits 0–23 source virtual WQ, 24–31 source VF id.
    pub src: u32,
    /// Reserved.
    pub reserved2: u32,
    /// Byte offset of the consumed WQE in its queue (or address low).
    pub wqe_offset: u32,
    /// WQE address high.
    pub wqe_addr_high: u32,
    /// Bits 0–13 client data unit.
    pub client_data_unit: u32,
    /// Response byte count.
    pub tx_oob_data_size: u32,
    /// Bits 0–20 chunk offset.
    pub chunk_offset: u32,
}
/// MANA: the HWC RX OOB is 32 bytes (mana.md §3.3).
const _: () = assert!(core::mem::size_of::<HwcRxOob>() == 32);

impl HwcRxOob {
    const TYPE_MASK: u32 = 0x3F;
    /// Bit 6: end of message.
    pub const EOM: u32 = 1 << 6;
    /// Bit 7: start of message.
    pub const SOM: u32 = 1 << 7;
    const VENDOR_ERR_SHIFT: u32 = 8;
    const VENDOR_ERR_MASK: u32 = 0xFF;

    /// Completion type (bits 0–5).
    pub const fn oob_type(&self) -> u8 {
        (self.flags & Self::TYPE_MASK) as u8
    }
    /// Vendor error (bits 8–15).
    pub const fn vendor_err(&self) -> u8 {
        get_bits(self.flags, Self::VENDOR_ERR_SHIFT, Self::VENDOR_ERR_MASK) as u8
    }
    /// Source virtual WQ (bits 0–23 of dword 1).
    pub const fn src_virt_wq(&self) -> u32 {
        self.src & HWC_QUEUE_ID_MASK
    }
    /// A response completion (device model side): `size` bytes delivered
    /// into the RQ WQE at byte `wqe_offset`.
    pub const fn response(wqe_offset: u32, size: u32) -> Self {
        HwcRxOob {
            flags: Self::EOM | Self::SOM,
            src: 0,
            reserved2: 0,
            wqe_offset,
            wqe_addr_high: 0,
            client_data_unit: 0,
            tx_oob_data_size: size,
            chunk_offset: 0,
        }
    }
}
