//! Flow steering (FLOW_STEERING_CONFIG, 30): SET payload, response and
//! the 128-byte rule control buffer (ena.md §3.6).

use zerocopy_derive::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// Flow-steering action: add (ena.md §3.6).
pub const FLOW_STEERING_ADD: u8 = 1;
/// Flow-steering action: remove.
pub const FLOW_STEERING_REMOVE: u8 = 2;
/// Flow-steering action: remove all.
pub const FLOW_STEERING_REMOVE_ALL: u8 = 3;
/// Rule location chosen by the device.
pub const FLOW_STEERING_LOCATION_ANY: u16 = 0xFFFF;

/// Flow-steering flow types (ena.md §3.6).
pub mod flow_type {
    /// IPv4.
    pub const IPV4: u8 = 1;
    /// IPv6.
    pub const IPV6: u8 = 2;
    /// TCP over IPv4.
    pub const TCP4: u8 = 3;
    /// TCP over IPv6.
    pub const TCP6: u8 = 4;
    /// UDP over IPv4.
    pub const UDP4: u8 = 5;
    /// UDP over IPv6.
    pub const UDP6: u8 = 6;
}

/// FLOW_STEERING_CONFIG (30) SET payload (ena.md §3.6).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct FlowSteeringSet {
    /// `FLOW_STEERING_*` action.
    pub action: u8,
    /// [`flow_type`] value.
    pub flow_type: u8,
    /// RX queue.
    pub rx_queue: u16,
    /// Rule location (0xFFFF = device chooses).
    pub location: u16,
    /// Reserved.
    pub reserved: u16,
    /// Flags.
    pub flags: u32,
}
/// ENA spec: flow-steering SET payload is 12 bytes (ena.md §3.6).
const _: () = assert!(core::mem::size_of::<FlowSteeringSet>() == 12);

/// FLOW_STEERING_CONFIG response (ena.md §3.6).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct FlowSteeringResp {
    /// Location used.
    pub location: u16,
    /// Reserved.
    pub reserved: u16,
}
/// ENA spec: flow-steering response carries a u16 location (ena.md §3.6).
const _: () = assert!(core::mem::size_of::<FlowSteeringResp>() == 4);

/// Flow-steering rule control buffer (ena.md §3.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct FlowSteeringRule {
    /// Destination IP.
    pub dst_ip: [u8; 16],
    /// Destination IP mask.
    pub dst_ip_mask: [u8; 16],
    /// Source IP.
    pub src_ip: [u8; 16],
    /// Source IP mask.
    pub src_ip_mask: [u8; 16],
    /// Destination port.
    pub dst_port: u16,
    /// Destination port mask.
    pub dst_port_mask: u16,
    /// Source port.
    pub src_port: u16,
    /// Source port mask.
    pub src_port_mask: u16,
    /// TOS.
    pub tos: u8,
    /// TOS mask.
    pub tos_mask: u8,
    /// Reserved.
    pub reserved: [u8; 54],
}
/// ENA spec: flow-steering rule buffer is 128 bytes (ena.md §3.6).
const _: () = assert!(core::mem::size_of::<FlowSteeringRule>() == 128);
