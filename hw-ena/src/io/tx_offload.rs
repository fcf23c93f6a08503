//! Translation of a packet's offload request into ENA descriptor bits and
//! meta-descriptor contents, following the Linux policy (ena.md §5.2, §5.3).

use cloudnic_common::nic::{L3Proto, L4Proto, TxError, TxOffload};

use crate::defs::io::{
    tx_offload_ctrl, TxDescMetaCtrl, TxMeta, TxMetaDesc, L3_PROTO_IPV4, L3_PROTO_IPV6,
    L4_PROTO_TCP, L4_PROTO_UDP, L4_PROTO_UNKNOWN, TX_META_L4_HDR_LEN_MASK, TX_META_MSS_MAX,
};

/// The all-zero metadata sent when the device disabled meta caching and the
/// packet asks for no offload (ena.md §5.3), encoded without the phase.
pub(crate) const ZERO_META: TxMetaDesc = TxMetaDesc::new(
    &TxMeta {
        mss: 0,
        l3_hdr_len: 0,
        l3_hdr_offset: 0,
        l4_hdr_len_words: 0,
    },
    false,
);

/// `meta_ctrl` offload bits of a packet without checksum/TSO: only DF.
#[inline(always)]
pub(crate) fn plain_ctrl(o: &TxOffload) -> u32 {
    if o.l3 == L3Proto::Ipv4 && o.ipv4_df {
        TxDescMetaCtrl::DF.bits()
    } else {
        0
    }
}

/// Linux policy (ena.md §5.3): any checksum or TSO request enables the L4
/// checksum (when an L4 checksum or TSO is asked), TSO sets `tso_en`, clears
/// the partial flag and forces the IPv4 header checksum; non-TSO honours the
/// caller's "pseudo-header already filled" flag (always set by Linux's
/// CHECKSUM_PARTIAL). The meta carries L3 offset/length, and for TSO the MSS
/// and L4 header length in words. DF mirrors the IPv4 DF bit. Returns the
/// first data descriptor's `meta_ctrl` offload bits (without req_id) and the
/// meta descriptor (without phase). Packets asking for no offload take
/// [`plain_ctrl`] instead.
#[inline]
pub(crate) fn prepare_offload(o: &TxOffload) -> Result<(u32, Option<TxMetaDesc>), TxError> {
    let ipv4 = o.l3 == L3Proto::Ipv4;
    let df = TxDescMetaCtrl::from_bits_retain(plain_ctrl(o));
    let tso = o.tso_mss != 0;
    let l3 = match o.l3 {
        L3Proto::Ipv4 => L3_PROTO_IPV4,
        L3Proto::Ipv6 => L3_PROTO_IPV6,
        L3Proto::Unknown => return Err(TxError::Invalid),
    };
    let l4 = match o.l4 {
        L4Proto::Tcp => L4_PROTO_TCP,
        L4Proto::Udp => L4_PROTO_UDP,
        L4Proto::Unknown if !(o.l4_csum || tso) => L4_PROTO_UNKNOWN,
        L4Proto::Unknown => return Err(TxError::Invalid),
    };
    let l3_hdr_len = u8::try_from(o.l3_len).map_err(|_| TxError::Invalid)?;
    let l3_hdr_offset = u8::try_from(o.l3_offset).map_err(|_| TxError::Invalid)?;
    let mut flags = df;
    let mut meta = TxMeta {
        mss: 0,
        l3_hdr_len,
        l3_hdr_offset,
        l4_hdr_len_words: 0,
    };
    if tso {
        let words = o.l4_len / 4;
        if o.l4 != L4Proto::Tcp
            || o.tso_mss > TX_META_MSS_MAX
            || !o.l4_len.is_multiple_of(4)
            || words == 0
            || u32::from(words) > TX_META_L4_HDR_LEN_MASK
        {
            return Err(TxError::Invalid);
        }
        meta.mss = o.tso_mss;
        meta.l4_hdr_len_words = words as u8;
        flags |= TxDescMetaCtrl::TSO_EN | TxDescMetaCtrl::L4_CSUM_EN;
        if ipv4 {
            flags |= TxDescMetaCtrl::L3_CSUM_EN;
        }
    } else if o.l4_csum {
        flags |= TxDescMetaCtrl::L4_CSUM_EN;
        if o.l4_csum_partial {
            flags |= TxDescMetaCtrl::L4_CSUM_PARTIAL;
        }
    }
    if o.ipv4_csum && ipv4 {
        flags |= TxDescMetaCtrl::L3_CSUM_EN;
    }
    Ok((
        tx_offload_ctrl(l3, l4, flags),
        Some(TxMetaDesc::new(&meta, false)),
    ))
}

/// Host-placement header length (ena.md §5.2 word 3): the L4 header end for
/// TCP/UDP packets longer than their headers, else 0; never above the
/// device's `max_header_size` (then 0 as well: the field is advisory).
#[inline]
pub(crate) fn host_header_len(o: &TxOffload, total_len: u32, max_header: u16) -> u8 {
    if o.l4 == L4Proto::Unknown || o.l3 == L3Proto::Unknown || o.l3_len == 0 || o.l4_len == 0 {
        return 0;
    }
    let end = u32::from(o.l3_offset) + u32::from(o.l3_len) + u32::from(o.l4_len);
    if end >= total_len || end > u32::from(max_header) {
        return 0;
    }
    u8::try_from(end).unwrap_or(0)
}
