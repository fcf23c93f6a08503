//! GDMA message framing: the message header, device ids, the request and
//! response headers with their activity id, message versions and status
//! codes (mana.md §3.4).
//!
//! Every request body starts with a [`GdmaReqHdr`] and every response with
//! a [`GdmaRespHdr`]; the [`GdmaRequest`] trait ties a request struct to its
//! code, versions and response struct so the HWC layer can frame and check
//! any command generically.

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};
use zerocopy_derive::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// Header type of every message the drivers send (mana.md §3.4).
pub const GDMA_STANDARD_HEADER_TYPE: u32 = 0;
/// Message version 1, the default for requests and responses.
pub const GDMA_MESSAGE_V1: u16 = 1;
/// Message version 2.
pub const GDMA_MESSAGE_V2: u16 = 2;
/// Message version 3.
pub const GDMA_MESSAGE_V3: u16 = 3;
/// Message version 4.
pub const GDMA_MESSAGE_V4: u16 = 4;
/// Message version 5.
pub const GDMA_MESSAGE_V5: u16 = 5;

/// Response status: success (mana.md §3.4).
pub const GDMA_STATUS_SUCCESS: u32 = 0;
/// Response status: success, more parts of a multi-part DMA region expected (0x105).
pub const GDMA_STATUS_MORE_ENTRIES: u32 = 0x105;
/// Response status: command not supported (→ `Unsupported`).
pub const GDMA_STATUS_CMD_UNSUPPORTED: u32 = 0xFFFF_FFFF;

/// Upper 16 bits of a message type name its device class (mana.md §3.4).
pub const MSG_TYPE_CLASS_SHIFT: u32 = 16;

/// GDMA device type: none / empty LIST_DEVICES slot (mana.md §3.4).
pub const GDMA_DEVICE_NONE: u16 = 0;
/// GDMA device type: the hardware channel.
pub const GDMA_DEVICE_HWC: u16 = 1;
/// GDMA device type: MANA Ethernet.
pub const GDMA_DEVICE_MANA: u16 = 2;
/// GDMA device type: MANA RDMA.
pub const GDMA_DEVICE_MANA_IB: u16 = 3;

/// The common 16-byte message header (`gdma_msg_hdr`, mana.md §3.4).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct GdmaMsgHdr {
    /// [`GDMA_STANDARD_HEADER_TYPE`].
    pub hdr_type: u32,
    /// Request code.
    pub msg_type: u32,
    /// Message version.
    pub msg_version: u16,
    /// HWC slot id (stamped by the hardware channel).
    pub hwc_msg_id: u16,
    /// Message size in bytes including headers.
    pub msg_size: u32,
}
/// MANA: the GDMA message header is 16 bytes (mana.md §3.4).
const _: () = assert!(core::mem::size_of::<GdmaMsgHdr>() == 16);

impl GdmaMsgHdr {
    /// A standard header.
    pub const fn new(msg_type: u32, version: u16, size: u32) -> Self {
        GdmaMsgHdr {
            hdr_type: GDMA_STANDARD_HEADER_TYPE,
            msg_type,
            msg_version: version,
            hwc_msg_id: 0,
            msg_size: size,
        }
    }
}

/// A GDMA device id (`gdma_dev_id`, 4 bytes, mana.md §3.4).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct GdmaDevId {
    /// Device type (`GDMA_DEVICE_*`).
    pub dev_type: u16,
    /// Instance.
    pub instance: u16,
}
/// MANA: a GDMA device id is 4 bytes (mana.md §3.4).
const _: () = assert!(core::mem::size_of::<GdmaDevId>() == 4);

impl GdmaDevId {
    /// Id 0: GDMA-level calls that target no device.
    pub const NONE: GdmaDevId = GdmaDevId {
        dev_type: GDMA_DEVICE_NONE,
        instance: 0,
    };
    /// The hardware channel is always type 1 instance 0.
    pub const HWC: GdmaDevId = GdmaDevId {
        dev_type: GDMA_DEVICE_HWC,
        instance: 0,
    };
    /// Build.
    pub const fn new(dev_type: u16, instance: u16) -> Self {
        GdmaDevId { dev_type, instance }
    }
    /// An empty LIST_DEVICES slot (holes allowed with driver cap bit 11).
    pub const fn is_none(self) -> bool {
        self.dev_type == GDMA_DEVICE_NONE && self.instance == 0
    }
}

/// Request header (`gdma_req_hdr`, 40 bytes, mana.md §3.4): the request's
/// own message header, the response the driver expects, the target device
/// and the activity id the response must echo.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct GdmaReqHdr {
    /// The request's header.
    pub req: GdmaMsgHdr,
    /// Expected response type, version and size.
    pub resp: GdmaMsgHdr,
    /// Target device.
    pub dev_id: GdmaDevId,
    /// Correlation id echoed in the response.
    pub activity_id: u32,
}
/// MANA: the GDMA request header is 40 bytes (mana.md §3.4).
const _: () = assert!(core::mem::size_of::<GdmaReqHdr>() == 40);

/// Byte offset of `req.hwc_msg_id` inside a request (stamped in place by the HWC).
pub const REQ_HWC_MSG_ID_OFFSET: usize = 10;
/// Byte offset of `activity_id` inside a request (stamped in place by the HWC).
pub const REQ_ACTIVITY_ID_OFFSET: usize = 36;
/// Byte offset of `hwc_msg_id` inside a response.
pub const RESP_HWC_MSG_ID_OFFSET: usize = 10;

impl GdmaReqHdr {
    /// Header for `code`: both message headers standard with the given
    /// versions and sizes (Linux `mana_gd_init_req_hdr`), activity id 0 (the
    /// HWC stamps it).
    pub const fn new(
        code: u32,
        req_size: u32,
        resp_size: u32,
        req_version: u16,
        resp_version: u16,
        dev_id: GdmaDevId,
    ) -> Self {
        GdmaReqHdr {
            req: GdmaMsgHdr::new(code, req_version, req_size),
            resp: GdmaMsgHdr::new(code, resp_version, resp_size),
            dev_id,
            activity_id: 0,
        }
    }
}

/// Response header (`gdma_resp_hdr`, 32 bytes, mana.md §3.4).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct GdmaRespHdr {
    /// The response's message header.
    pub resp: GdmaMsgHdr,
    /// Device the response comes from.
    pub dev_id: GdmaDevId,
    /// Echo of the request's activity id.
    pub activity_id: u32,
    /// Status (`GDMA_STATUS_*`).
    pub status: u32,
    /// Reserved.
    pub reserved: u32,
}
/// MANA: the GDMA response header is 32 bytes (mana.md §3.4).
const _: () = assert!(core::mem::size_of::<GdmaRespHdr>() == 32);

/// A response made of the header only (commands with no response body).
pub type GdmaGeneralResp = GdmaRespHdr;

/// A fixed-layout GDMA/MANA request with its code, versions and response.
///
/// Variable-length requests (DMA region page lists, the RSS table) implement
/// it for their fixed part; the trailing list is appended by the caller and
/// `msg_size` covers both.
pub trait GdmaRequest: IntoBytes + FromBytes + Immutable + KnownLayout + Sized {
    /// Request code (`msg_type`).
    const CODE: u32;
    /// Request message version.
    const REQ_VERSION: u16 = GDMA_MESSAGE_V1;
    /// Expected response version.
    const RESP_VERSION: u16 = GDMA_MESSAGE_V1;
    /// The response struct (at least a [`GdmaRespHdr`]).
    type Response: IntoBytes + FromBytes + Immutable + KnownLayout + Sized;

    /// The header of a fixed-size request to `dev_id`.
    fn header(dev_id: GdmaDevId) -> GdmaReqHdr {
        Self::header_sized(dev_id, core::mem::size_of::<Self>())
    }
    /// The header of a request of `req_size` bytes (fixed part + trailing list).
    fn header_sized(dev_id: GdmaDevId, req_size: usize) -> GdmaReqHdr {
        GdmaReqHdr::new(
            Self::CODE,
            req_size as u32,
            core::mem::size_of::<Self::Response>() as u32,
            Self::REQ_VERSION,
            Self::RESP_VERSION,
            dev_id,
        )
    }
}
