//! MANA Ethernet data path: TX short/long OOB, CQE types and header, TX
//! completion OOB, RX completion OOB with its per-packet infos, NDIS hash
//! types (mana.md §6.6–§6.8).

use zerocopy_derive::{FromBytes, Immutable, IntoBytes, KnownLayout};

use super::queue::CQE_DATA_SIZE;
use super::{get_bits, put_bits};

/// TX OOB packet format: short (8-byte OOB) (mana.md §6.6).
pub const TX_PKT_FMT_SHORT: u32 = 0;
/// TX OOB packet format: long (24-byte OOB).
pub const TX_PKT_FMT_LONG: u32 = 1;
/// Largest vPort offset the short format can carry (8 bits).
pub const TX_SHORT_VPORT_OFFSET_MAX: u16 = 0xFF;
/// Largest vPort offset the long format can carry (12 bits).
pub const TX_LONG_VPORT_OFFSET_MAX: u16 = 0xFFF;
/// Largest transport-header offset (10 bits).
pub const TX_TRANS_OFF_MAX: u32 = 0x3FF;

/// Short TX OOB, 8 bytes (mana.md §6.6).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct TxShortOob {
    /// Bits 0–1 pkt_fmt, 2 outer IPv4, 3 outer IPv6, 4 IP csum, 5 TCP csum,
    /// 6 UDP csum, 7 suppress CQE, 8–31 CQ id.
    pub dword0: u32,
    /// Bits 0–9 transport offset, 10–23 vsq_frame, 24–31 short vPort offset.
    pub dword1: u32,
}
/// MANA: the short TX OOB is 8 bytes (mana.md §6.6).
const _: () = assert!(core::mem::size_of::<TxShortOob>() == 8);

impl TxShortOob {
    const FMT_MASK: u32 = 0x3;
    /// Bit 2: outer IPv4.
    pub const IS_OUTER_IPV4: u32 = 1 << 2;
    /// Bit 3: outer IPv6.
    pub const IS_OUTER_IPV6: u32 = 1 << 3;
    /// Bit 4: compute the IPv4 header checksum.
    pub const COMP_IP_CSUM: u32 = 1 << 4;
    /// Bit 5: compute the TCP checksum.
    pub const COMP_TCP_CSUM: u32 = 1 << 5;
    /// Bit 6: compute the UDP checksum.
    pub const COMP_UDP_CSUM: u32 = 1 << 6;
    /// Bit 7: suppress the TX CQE on success.
    pub const SUPPRESS_TXCQE: u32 = 1 << 7;
    /// Flags valid in dword 0 bits 2–7.
    pub const FLAGS_MASK: u32 = 0xFC;
    const VCQ_SHIFT: u32 = 8;
    const VCQ_MASK: u32 = 0x00FF_FFFF;
    const TRANS_OFF_MASK: u32 = 0x3FF;
    const VSQ_FRAME_SHIFT: u32 = 10;
    const VSQ_FRAME_MASK: u32 = 0x3FFF;
    const VPORT_SHIFT: u32 = 24;
    const VPORT_MASK: u32 = 0xFF;

    /// Encode. `flags` are the `IS_*`/`COMP_*`/`SUPPRESS_*` bits; the SQ id
    /// supplies `vsq_frame` (its bits 10–23).
    pub const fn new(
        fmt: u32,
        flags: u32,
        cq_id: u32,
        trans_off: u32,
        sq_id: u32,
        short_vport_offset: u8,
    ) -> Self {
        TxShortOob {
            dword0: (fmt & Self::FMT_MASK)
                | (flags & Self::FLAGS_MASK)
                | put_bits(cq_id, Self::VCQ_SHIFT, Self::VCQ_MASK),
            dword1: (trans_off & Self::TRANS_OFF_MASK)
                | put_bits(
                    sq_id >> Self::VSQ_FRAME_SHIFT,
                    Self::VSQ_FRAME_SHIFT,
                    Self::VSQ_FRAME_MASK,
                )
                | put_bits(
                    short_vport_offset as u32,
                    Self::VPORT_SHIFT,
                    Self::VPORT_MASK,
                ),
        }
    }
    /// Packet format.
    pub const fn pkt_fmt(&self) -> u32 {
        self.dword0 & Self::FMT_MASK
    }
    /// Flag bits.
    pub const fn flags(&self) -> u32 {
        self.dword0 & Self::FLAGS_MASK
    }
    /// CQ id.
    pub const fn cq_id(&self) -> u32 {
        get_bits(self.dword0, Self::VCQ_SHIFT, Self::VCQ_MASK)
    }
    /// Transport header offset.
    pub const fn trans_off(&self) -> u32 {
        self.dword1 & Self::TRANS_OFF_MASK
    }
    /// vsq_frame (SQ id bits 10–23).
    pub const fn vsq_frame(&self) -> u32 {
        get_bits(self.dword1, Self::VSQ_FRAME_SHIFT, Self::VSQ_FRAME_MASK)
    }
    /// Short vPort offset.
    pub const fn short_vport_offset(&self) -> u8 {
        get_bits(self.dword1, Self::VPORT_SHIFT, Self::VPORT_MASK) as u8
    }
}

/// Long-format extension, 16 bytes (mana.md §6.6).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct TxLongOob {
    /// Bits 0 encap, 1 inner IPv6, 2 inner TCP options, 3 inject VLAN tag,
    /// 16–18 PCP, 19 DEI, 20–31 VLAN id.
    pub dword2: u32,
    /// Bits 0–9 inner frame offset, 10–15 inner IP relative offset, 16–27 long vPort offset.
    pub dword3: u32,
    /// Reserved.
    pub reserved3: u32,
    /// Reserved.
    pub reserved4: u32,
}
/// MANA: the long-format extension is 16 bytes (mana.md §6.6).
const _: () = assert!(core::mem::size_of::<TxLongOob>() == 16);

impl TxLongOob {
    /// Bit 0: encapsulated packet.
    pub const IS_ENCAP: u32 = 1 << 0;
    /// Bit 1: inner IPv6.
    pub const INNER_IS_IPV6: u32 = 1 << 1;
    /// Bit 2: inner TCP options.
    pub const INNER_TCP_OPT: u32 = 1 << 2;
    /// Bit 3: insert an 802.1Q tag.
    pub const INJECT_VLAN_TAG: u32 = 1 << 3;
    const PCP_SHIFT: u32 = 16;
    const PCP_MASK: u32 = 0x7;
    const DEI: u32 = 1 << 19;
    const VLAN_SHIFT: u32 = 20;
    const VLAN_MASK: u32 = 0xFFF;
    const VPORT_SHIFT: u32 = 16;
    const VPORT_MASK: u32 = 0xFFF;

    /// Encode with an optional VLAN tag `(pcp, dei, vid)` and the vPort offset.
    pub const fn new(vlan: Option<(u8, bool, u16)>, long_vport_offset: u16) -> Self {
        let dword2 = match vlan {
            Some((pcp, dei, vid)) => {
                Self::INJECT_VLAN_TAG
                    | put_bits(pcp as u32, Self::PCP_SHIFT, Self::PCP_MASK)
                    | if dei { Self::DEI } else { 0 }
                    | put_bits(vid as u32, Self::VLAN_SHIFT, Self::VLAN_MASK)
            }
            None => 0,
        };
        TxLongOob {
            dword2,
            dword3: put_bits(
                long_vport_offset as u32,
                Self::VPORT_SHIFT,
                Self::VPORT_MASK,
            ),
            reserved3: 0,
            reserved4: 0,
        }
    }
    /// VLAN tag to insert, as `(pcp, dei, vid)`.
    pub const fn vlan(&self) -> Option<(u8, bool, u16)> {
        if self.dword2 & Self::INJECT_VLAN_TAG == 0 {
            return None;
        }
        Some((
            get_bits(self.dword2, Self::PCP_SHIFT, Self::PCP_MASK) as u8,
            self.dword2 & Self::DEI != 0,
            get_bits(self.dword2, Self::VLAN_SHIFT, Self::VLAN_MASK) as u16,
        ))
    }
    /// Long vPort offset.
    pub const fn long_vport_offset(&self) -> u16 {
        get_bits(self.dword3, Self::VPORT_SHIFT, Self::VPORT_MASK) as u16
    }
}

/// Full (long-format) TX OOB, 24 bytes (mana.md §6.6).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct TxOob {
    /// Short part.
    pub s: TxShortOob,
    /// Long extension.
    pub l: TxLongOob,
}
/// MANA: the long TX OOB is 24 bytes (mana.md §6.6).
const _: () = assert!(core::mem::size_of::<TxOob>() == 24);

/// CQE types (mana.md §6.7).
pub mod cqe_type {
    /// Invalid.
    pub const INVALID: u8 = 0;
    /// One packet (PPI 0).
    pub const RX_OKAY: u8 = 1;
    /// Up to 4 packets; stop at the first zero length.
    pub const RX_COALESCED_4: u8 = 2;
    /// Completes a FENCE_RQ.
    pub const RX_OBJECT_FENCE: u8 = 3;
    /// Truncated packet: drop and recycle.
    pub const RX_TRUNCATED: u8 = 4;
    /// Up to 8 packets, two per per-packet-info entry (net-next; mana.md
    /// §6.7). The value 7 is confirmed; this driver never enables it and
    /// treats it as an unknown type (counted, reset) because what is needed
    /// to implement it is not confirmed by a readable source:
    /// * the PPI sub-layout: mana.md §12 ("not found in C source"); the
    ///   only public renderings of net-next's `mana_rxcomp_perpkt_info`
    ///   union found are machine translations that either drop the second
    ///   struct or order it hash0, len0, len1, hash1 — which would move
    ///   packet 0's length off byte 0, where RX_OKAY/COALESCED_4 keep it;
    /// * how it is switched on: net-next gates it on a device capability
    ///   (`cqe8_coalescing_sup`) whose PF capability bit is not in mana.md
    ///   (§3.7, §6.12), and on a CONFIG_VPORT_RX encoding beyond the V2
    ///   `cqe_coalescing_enable` byte (§6.3) that no source shows;
    /// * Debian 7.2.13's `mana.ko` does not have it (mana.md §14).
    ///
    /// A device never sends it unless the driver asked for it, so COALESCED_4
    /// (four packets per CQE) stays the coalescing mode here.
    pub const RX_COALESCED_8: u8 = 7;
    /// TX success.
    pub const TX_OKAY: u8 = 32;
    /// TX source-address drop.
    pub const TX_SA_DROP: u8 = 33;
    /// TX MTU drop.
    pub const TX_MTU_DROP: u8 = 34;
    /// TX invalid OOB.
    pub const TX_INVALID_OOB: u8 = 35;
    /// TX invalid ethertype.
    pub const TX_INVALID_ETH_TYPE: u8 = 36;
    /// TX header processing error.
    pub const TX_HDR_PROCESSING_ERROR: u8 = 37;
    /// TX VF disabled.
    pub const TX_VF_DISABLED: u8 = 38;
    /// TX vPort index out of range.
    pub const TX_VPORT_IDX_OUT_OF_RANGE: u8 = 39;
    /// TX vPort disabled.
    pub const TX_VPORT_DISABLED: u8 = 40;
    /// TX VLAN tagging violation.
    pub const TX_VLAN_TAGGING_VIOLATION: u8 = 41;
    /// TX GDMA error: the queue is disabled (OpenVMM).
    pub const TX_GDMA_ERR: u8 = 42;
}

/// CQE header client type for MANA completions (mana.md §6.6).
pub const MANA_CQE_COMPLETION: u32 = 1;

/// MANA CQE header dword (mana.md §6.6): bits 0–5 type, 6–7 client type, 8–31 vendor error.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CqeHeader(pub u32);

impl CqeHeader {
    const TYPE_MASK: u32 = 0x3F;
    const CLIENT_SHIFT: u32 = 6;
    const CLIENT_MASK: u32 = 0x3;
    const VENDOR_SHIFT: u32 = 8;
    const VENDOR_MASK: u32 = 0x00FF_FFFF;
    /// Encode.
    pub const fn new(cqe_type: u8, client_type: u32, vendor_err: u32) -> Self {
        CqeHeader(
            (cqe_type as u32 & Self::TYPE_MASK)
                | put_bits(client_type, Self::CLIENT_SHIFT, Self::CLIENT_MASK)
                | put_bits(vendor_err, Self::VENDOR_SHIFT, Self::VENDOR_MASK),
        )
    }
    /// CQE type (`cqe_type::*`).
    pub const fn cqe_type(self) -> u8 {
        (self.0 & Self::TYPE_MASK) as u8
    }
    /// Client type.
    pub const fn client_type(self) -> u32 {
        get_bits(self.0, Self::CLIENT_SHIFT, Self::CLIENT_MASK)
    }
    /// Vendor error.
    pub const fn vendor_err(self) -> u32 {
        get_bits(self.0, Self::VENDOR_SHIFT, Self::VENDOR_MASK)
    }
}

/// TX completion OOB, the 60 CQE data bytes (mana.md §6.6).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct TxCompOob {
    /// [`CqeHeader`].
    pub cqe_hdr: u32,
    /// TX data offset.
    pub tx_data_offset: u32,
    /// Bits 0–4 SGL offset, 5–31 WQE offset.
    pub tx_offsets: u32,
    /// Reserved.
    pub reserved: [u32; 12],
}
/// MANA: the TX completion OOB fills the 60-byte CQE data (mana.md §6.6).
const _: () = assert!(core::mem::size_of::<TxCompOob>() == CQE_DATA_SIZE);

impl TxCompOob {
    /// Header.
    pub const fn header(&self) -> CqeHeader {
        CqeHeader(self.cqe_hdr)
    }
    /// WQE offset (bits 5–31 of dword 2).
    pub const fn tx_wqe_offset(&self) -> u32 {
        self.tx_offsets >> 5
    }
}

/// Number of per-packet infos in an RX completion (mana.md §6.8).
pub const RXCOMP_OOB_NUM_PPI: usize = 4;

/// Per-packet info of an RX completion, 12 bytes (mana.md §6.8).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct RxPerPktInfo {
    /// Packet length.
    pub pkt_len: u16,
    /// Reserved.
    pub reserved1: u16,
    /// Reserved.
    pub reserved2: u32,
    /// RSS hash.
    pub pkt_hash: u32,
}
/// MANA: an RX per-packet info is 12 bytes (mana.md §6.8).
const _: () = assert!(core::mem::size_of::<RxPerPktInfo>() == 12);

/// RX completion OOB, the 60 CQE data bytes (mana.md §6.8).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct RxCompOob {
    /// [`CqeHeader`].
    pub cqe_hdr: u32,
    /// [`RxCompFlags`] word.
    pub flags: u32,
    /// Per-packet infos.
    pub ppi: [RxPerPktInfo; RXCOMP_OOB_NUM_PPI],
    /// Byte offset of the consumed RX WQE.
    pub rx_wqe_offset: u32,
}
/// MANA: the RX completion OOB fills the 60-byte CQE data (mana.md §6.8).
const _: () = assert!(core::mem::size_of::<RxCompOob>() == CQE_DATA_SIZE);

impl RxCompOob {
    /// Header.
    pub const fn header(&self) -> CqeHeader {
        CqeHeader(self.cqe_hdr)
    }
    /// Flags word.
    pub const fn rx_flags(&self) -> RxCompFlags {
        RxCompFlags(self.flags)
    }
}

/// RX completion dword 1 (mana.md §6.8).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RxCompFlags(pub u32);

impl RxCompFlags {
    const VLAN_MASK: u32 = 0xFFF;
    /// Bit 12: a VLAN tag was stripped.
    pub const VLAN_PRESENT: u32 = 1 << 12;
    /// Bit 13: outer IP header checksum ok.
    pub const OUTER_IP_CSUM_OK: u32 = 1 << 13;
    /// Bit 14: outer IP header checksum failed.
    pub const OUTER_IP_CSUM_FAIL: u32 = 1 << 14;
    const HASH_SHIFT: u32 = 16;
    const HASH_MASK: u32 = 0x1FF;
    /// Bit 25: IP header checksum ok.
    pub const IP_CSUM_OK: u32 = 1 << 25;
    /// Bit 26: IP header checksum failed.
    pub const IP_CSUM_FAIL: u32 = 1 << 26;
    /// Bit 27: TCP checksum ok.
    pub const TCP_CSUM_OK: u32 = 1 << 27;
    /// Bit 28: TCP checksum failed.
    pub const TCP_CSUM_FAIL: u32 = 1 << 28;
    /// Bit 29: UDP checksum ok.
    pub const UDP_CSUM_OK: u32 = 1 << 29;
    /// Bit 30: UDP checksum failed.
    pub const UDP_CSUM_FAIL: u32 = 1 << 30;

    /// Encode (device model side): VLAN id if present, hash-type mask, flag bits.
    pub const fn new(vlan: Option<u16>, hash_type: NdisHashType, flags: u32) -> Self {
        let v = match vlan {
            Some(id) => (id as u32 & Self::VLAN_MASK) | Self::VLAN_PRESENT,
            None => 0,
        };
        RxCompFlags(
            v | put_bits(hash_type.bits(), Self::HASH_SHIFT, Self::HASH_MASK)
                | (flags
                    & !(Self::VLAN_MASK
                        | Self::VLAN_PRESENT
                        | (Self::HASH_MASK << Self::HASH_SHIFT))),
        )
    }
    /// Stripped VLAN id.
    pub const fn vlan(self) -> Option<u16> {
        if self.0 & Self::VLAN_PRESENT != 0 {
            Some((self.0 & Self::VLAN_MASK) as u16)
        } else {
            None
        }
    }
    /// Hash-type mask (unknown bits kept out by `from_bits_truncate`).
    pub const fn hash_type(self) -> NdisHashType {
        NdisHashType::from_bits_truncate(get_bits(self.0, Self::HASH_SHIFT, Self::HASH_MASK))
    }
    /// Test a flag bit.
    pub const fn has(self, bit: u32) -> bool {
        self.0 & bit != 0
    }
}

bitflags::bitflags! {
    /// NDIS hash types reported in RX completions (mana.md §6.8).
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct NdisHashType: u32 {
        /// IPv4 addresses.
        const IPV4 = 1 << 0;
        /// TCP over IPv4.
        const TCP_IPV4 = 1 << 1;
        /// UDP over IPv4.
        const UDP_IPV4 = 1 << 2;
        /// IPv6 addresses.
        const IPV6 = 1 << 3;
        /// TCP over IPv6.
        const TCP_IPV6 = 1 << 4;
        /// UDP over IPv6.
        const UDP_IPV6 = 1 << 5;
        /// IPv6 with extension headers.
        const IPV6_EX = 1 << 6;
        /// TCP over IPv6 with extension headers.
        const TCP_IPV6_EX = 1 << 7;
        /// UDP over IPv6 with extension headers.
        const UDP_IPV6_EX = 1 << 8;
    }
}

impl NdisHashType {
    /// Hash over L3 addresses only.
    pub const L3: NdisHashType = NdisHashType::from_bits_truncate(
        Self::IPV4.bits() | Self::IPV6.bits() | Self::IPV6_EX.bits(),
    );
    /// Hash over L3 addresses and L4 ports.
    pub const L4: NdisHashType = NdisHashType::from_bits_truncate(
        Self::TCP_IPV4.bits()
            | Self::UDP_IPV4.bits()
            | Self::TCP_IPV6.bits()
            | Self::UDP_IPV6.bits()
            | Self::TCP_IPV6_EX.bits()
            | Self::UDP_IPV6_EX.bits(),
    );
}
