//! Byte-exact tests of the IO wire formats in `defs::io` against the tables of
//! ena.md §5.2–§5.8.

use zerocopy::IntoBytes;

use crate::defs::io::*;

#[test]
fn tx_data_desc_fields() {
    // req_id 0xABCD: bits 15:10 = 0x2A -> word0 21:16; bits 9:0 = 0x3CD -> word1 31:22.
    let ctrl = TxDescCtrl::PHASE | TxDescCtrl::FIRST | TxDescCtrl::LAST | TxDescCtrl::COMP_REQ;
    let off = tx_offload_ctrl(
        L3_PROTO_IPV4,
        L4_PROTO_TCP,
        TxDescMetaCtrl::L4_CSUM_EN | TxDescMetaCtrl::DF,
    );
    let d = TxDesc::data(0x1234, 0xABCD, 0x0000_BEEF_1234_5678, ctrl, off, 54);
    let w0 = 0x1234 | 0x2A << 16 | 1 << 24 | 1 << 26 | 1 << 27 | 1 << 28;
    let w1 = 8 | 1 << 4 | 12 << 8 | 1 << 14 | 0x3CD << 22;
    let w3 = 0xBEEF | 54 << 24;
    let mut want = [0u8; 16];
    want[0..4].copy_from_slice(&u32::to_le_bytes(w0));
    want[4..8].copy_from_slice(&u32::to_le_bytes(w1));
    want[8..12].copy_from_slice(&u32::to_le_bytes(0x1234_5678));
    want[12..16].copy_from_slice(&u32::to_le_bytes(w3));
    assert_eq!(d.as_bytes(), &want);
    assert_eq!(d.length(), 0x1234);
    assert_eq!(d.req_id(), 0xABCD);
    assert_eq!(d.addr(), 0xBEEF_1234_5678);
    assert_eq!(d.header_len(), 54);
    assert_eq!(d.l3_proto(), L3_PROTO_IPV4);
    assert_eq!(d.l4_proto(), L4_PROTO_TCP);
    assert_eq!(d.ctrl(), ctrl);
    assert!(!d.is_meta());
    assert_eq!(
        d.offload_flags(),
        TxDescMetaCtrl::L4_CSUM_EN | TxDescMetaCtrl::DF
    );
    // qwords are the byte image.
    let q = d.to_qwords();
    assert_eq!(u64::to_le_bytes(q[0]), want[0..8]);
    assert_eq!(u64::to_le_bytes(q[1]), want[8..16]);
    assert_eq!(TxDesc::from_qwords(q), d);
}

#[test]
fn tx_data_desc_flag_bits() {
    assert_eq!(TxDescCtrl::META_DESC.bits(), 1 << 23);
    assert_eq!(TxDescMetaCtrl::TSO_EN.bits(), 1 << 7);
    assert_eq!(TxDescMetaCtrl::L3_CSUM_EN.bits(), 1 << 13);
    assert_eq!(TxDescMetaCtrl::ETHERNET_FCS_DIS.bits(), 1 << 15);
    assert_eq!(TxDescMetaCtrl::L4_CSUM_PARTIAL.bits(), 1 << 17);
    // A data descriptor never carries the meta bit, even if asked to.
    let d = TxDesc::data(1, 0, 0, TxDescCtrl::META_DESC, 0, 0);
    assert!(!d.is_meta());
    // The req_id field of `offload` is ignored; the argument wins.
    let d = TxDesc::data(1, 5, 0, TxDescCtrl::empty(), u32::MAX, 0);
    assert_eq!(d.req_id(), 5);
}

#[test]
fn tx_meta_desc_fields() {
    let meta = TxMeta {
        mss: 0x2ABC,
        l3_hdr_len: 20,
        l3_hdr_offset: 14,
        l4_hdr_len_words: 8,
    };
    let m = TxMetaDesc::new(&meta, true);
    // MSS 0x2ABC: bits 13:10 = 0xA -> word0 19:16; bits 9:0 = 0x2BC -> word2 31:22.
    let w0 = 1 << 14 | 0xA << 16 | 1 << 20 | 1 << 21 | 1 << 23 | 1 << 24 | 1 << 26;
    let w2 = 20 | 14 << 8 | 8 << 16 | 0x2BC << 22;
    let mut want = [0u8; 16];
    want[0..4].copy_from_slice(&u32::to_le_bytes(w0));
    want[8..12].copy_from_slice(&u32::to_le_bytes(w2));
    assert_eq!(m.as_bytes(), &want);
    assert_eq!(m.meta(), meta);
    assert!(!m.ctrl().contains(TxMetaCtrl::LAST));
    assert!(!m.ctrl().contains(TxMetaCtrl::COMP_REQ));
    assert_eq!(TxMetaDesc::from_qwords(m.to_qwords()), m);
    // Seen through the data-descriptor view, it is a meta descriptor.
    assert!(TxDesc::from_qwords(m.to_qwords()).is_meta());
    let m0 = TxMetaDesc::new(&meta, false);
    assert!(!m0.ctrl().contains(TxMetaCtrl::PHASE));
}

#[test]
fn tx_cdesc_layout() {
    let c = TxCdesc::new(0x0102, true, 0x0708);
    assert_eq!(
        c.as_bytes(),
        &[0x02, 0x01, 0x00, 0x01, 0x00, 0x00, 0x08, 0x07]
    );
    assert_eq!(u64::to_le_bytes(c.to_qword()), *c.as_bytes());
    assert_eq!(TxCdesc::from_qword(c.to_qword()), c);
    assert!(c.phase());
    assert!(!c.mbz_violated());
    let bad = TxCdesc { flags: 0x80, ..c };
    assert!(bad.mbz_violated());
    assert_eq!(TX_CDESC_W0_PHASE, 1 << 24);
    assert_eq!(TX_CDESC_W0_MBZ, 0xC0 << 24);
    let ext = TxCdescExt {
        base: c,
        timestamp_low: 1,
        timestamp_high: 2,
    };
    assert_eq!(&ext.as_bytes()[8..16], &[1, 0, 0, 0, 2, 0, 0, 0]);
    assert_eq!(ext.timestamp(), 0x2_0000_0001);
    assert_eq!(
        (
            TX_CDESC_WORDS,
            TX_CDESC_EXT_WORDS,
            RX_CDESC_WORDS,
            RX_CDESC_EXT_WORDS
        ),
        (2, 4, 4, 8)
    );
}

#[test]
fn rx_desc_layout() {
    let d = RxDesc::new(2048, 0x0304, 0x0000_1122_3344_5566, true);
    let want = [
        0x00, 0x08, 0x00, 0x1D, 0x04, 0x03, 0, 0, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0, 0,
    ];
    assert_eq!(d.as_bytes(), &want);
    assert_eq!(
        d.flags(),
        RxDescCtrl::PHASE | RxDescCtrl::FIRST | RxDescCtrl::LAST | RxDescCtrl::COMP_REQ
    );
    assert_eq!(d.addr(), 0x1122_3344_5566);
    assert_eq!(d.buffer_len(), 2048);
    let q = d.to_qwords();
    assert_eq!(u64::to_le_bytes(q[0]), want[0..8]);
    assert_eq!(u64::to_le_bytes(q[1]), want[8..16]);
    assert_eq!(RxDesc::from_qwords(q), d);
    // 64 KiB is encoded as 0.
    let big = RxDesc::new(65536, 0, 0, false);
    assert_eq!(big.length, 0);
    assert_eq!(big.buffer_len(), 65536);
    assert_eq!(big.ctrl & RxDescCtrl::PHASE.bits(), 0);
}

#[test]
fn rx_cdesc_layout() {
    let flags = RxCdescStatus::PHASE
        | RxCdescStatus::FIRST
        | RxCdescStatus::LAST
        | RxCdescStatus::L4_CSUM_CHECKED;
    let status = RxCdesc::status_word(flags, L3_PROTO_IPV6, L4_PROTO_UDP, 1);
    assert_eq!(
        status,
        11 | 1 << 5 | 13 << 8 | 1 << 16 | 1 << 24 | 1 << 26 | 1 << 27
    );
    let c = RxCdesc::new(status, 0x05DC, 0x0203, 0xDEAD_BEEF, 2);
    let mut want = [0u8; 16];
    want[0..4].copy_from_slice(&u32::to_le_bytes(status));
    want[4..6].copy_from_slice(&[0xDC, 0x05]);
    want[6..8].copy_from_slice(&[0x03, 0x02]);
    want[8..12].copy_from_slice(&u32::to_le_bytes(0xDEAD_BEEF));
    want[14] = 2;
    assert_eq!(c.as_bytes(), &want);
    assert_eq!(c.l3_proto(), L3_PROTO_IPV6);
    assert_eq!(c.l4_proto(), L4_PROTO_UDP);
    assert_eq!(c.src_vlan_cnt(), 1);
    assert_eq!(c.flags(), flags);
    assert!(!c.mbz_violated());
    assert_eq!(RxCdesc::from_qwords(c.to_qwords()), c);
    let q = c.to_qwords();
    assert_eq!(u64::to_le_bytes(q[0]), want[0..8]);
    assert_eq!(u64::to_le_bytes(q[1]), want[8..16]);
    for b in [7u32, 17] {
        assert!(RxCdesc {
            status: status | 1 << b,
            ..c
        }
        .mbz_violated());
    }
    assert_eq!(RxCdescStatus::L3_CSUM_ERR.bits(), 1 << 13);
    assert_eq!(RxCdescStatus::L4_CSUM_ERR.bits(), 1 << 14);
    assert_eq!(RxCdescStatus::IPV4_FRAG.bits(), 1 << 15);
    assert_eq!(RxCdescStatus::BUFFER.bits(), 1 << 30);
    let ext = RxCdescExt {
        base: c,
        buff_addr_lo: 0x1000,
        buff_addr_hi: 1,
        reserved: 0,
        timestamp_low: 5,
        timestamp_high: 0,
    };
    assert_eq!(ext.addr(), 0x1_0000_1000);
    assert_eq!(ext.timestamp(), 5);
    assert_eq!(&ext.as_bytes()[16..22], &[0x00, 0x10, 0, 0, 1, 0]);
}

#[test]
fn intr_and_numa_registers() {
    let v = IntrCtrl {
        rx_delay: 20,
        tx_delay: 64,
        unmask: true,
        no_moderation_update: false,
    }
    .encode();
    assert_eq!(v, 20 | 64 << 15 | 1 << 30);
    assert_eq!(
        IntrCtrl::decode(v),
        IntrCtrl {
            rx_delay: 20,
            tx_delay: 64,
            unmask: true,
            no_moderation_update: false
        }
    );
    let sat = IntrCtrl {
        rx_delay: 1 << 20,
        tx_delay: 1 << 20,
        unmask: false,
        no_moderation_update: true,
    }
    .encode();
    assert_eq!(sat, 0x7FFF | 0x7FFF << 15 | 1 << 31);
    assert_eq!(numa_config(3), 3 | 1 << 31);
}

#[test]
fn llq_enums() {
    assert_eq!(LlqEntrySize::B128.bytes(), Some(128));
    assert_eq!(LlqEntrySize::B192.bytes(), Some(192));
    assert_eq!(LlqEntrySize::B256.bytes(), Some(256));
    assert_eq!((LlqEntrySize::B128 | LlqEntrySize::B256).bytes(), None);
    assert_eq!(LlqDescsBeforeHeader::D2.count(), Some(2));
    assert_eq!(LlqDescsBeforeHeader::empty().count(), Some(0));
    assert_eq!(
        (LlqDescsBeforeHeader::D1 | LlqDescsBeforeHeader::D2).count(),
        None
    );
    assert_eq!(LlqHeaderLocation::INLINE.bits(), 1);
    assert_eq!(LlqHeaderLocation::SEPARATE_RING.bits(), 2);
    assert_eq!(LlqStride::MULTIPLE_DESCS_PER_ENTRY.bits(), 2);
    assert_eq!(
        LlqAccelFlags::DISABLE_META_CACHING.bits() | LlqAccelFlags::LIMIT_TX_BURST.bits(),
        3
    );
}
