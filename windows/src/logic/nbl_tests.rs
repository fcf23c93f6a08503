//! NBL/MDL chains built in host memory from our declarations, walked and
//! turned into TX requests exactly as the shim's send path does.
use super::*;
use crate::logic::tx::{self, MAX_HEADER};
use crate::ndis::nbl::{csum_info, lso_info, NB_SLOT_NBL};
use cloudnic_common::nic::{DmaSegment, L4Proto};
use std::boxed::Box;
use std::vec::Vec;

fn zeroed<T>() -> Box<T> {
    // SAFETY: the NDIS structures are integers and raw pointers; all-zero is valid.
    Box::new(unsafe { core::mem::zeroed() })
}

/// MDLs over `parts` of `data` (pool memory: mapped). Boxed so each MDL
/// keeps its address while the chain is linked.
#[allow(clippy::vec_box)]
fn mdl_chain(data: &mut [u8], parts: &[usize]) -> Vec<Box<MDL>> {
    let mut mdls: Vec<Box<MDL>> = Vec::new();
    let mut off = 0;
    for &len in parts {
        let mut m = zeroed::<MDL>();
        m.MdlFlags = MDL_SOURCE_IS_NONPAGED_POOL;
        m.MappedSystemVa = data[off..].as_mut_ptr().cast();
        m.ByteCount = len as u32;
        mdls.push(m);
        off += len;
    }
    for i in 0..mdls.len().saturating_sub(1) {
        let next: *mut MDL = &mut *mdls[i + 1];
        mdls[i].Next = next;
    }
    mdls
}

/// An SG list with `elems`, in a buffer big enough for the flexible array.
fn sg_list(elems: &[(u64, u32)]) -> Vec<u64> {
    let words = 2 + elems.len() * 3;
    let mut buf = std::vec![0u64; words];
    let sgl = buf.as_mut_ptr().cast::<SCATTER_GATHER_LIST>();
    // SAFETY: buf is large and aligned enough for the header and elements.
    unsafe {
        (*sgl).NumberOfElements = elems.len() as u32;
        let e = core::ptr::addr_of_mut!((*sgl).Elements).cast::<SCATTER_GATHER_ELEMENT>();
        for (i, &(a, l)) in elems.iter().enumerate() {
            e.add(i).write(SCATTER_GATHER_ELEMENT {
                Address: a as i64,
                Length: l,
                Reserved: 0,
            });
        }
    }
    buf
}

#[test]
fn nbl_chain_to_tx_requests() {
    // Packet A: TCP/IPv4 with checksum offload, data starting 6 bytes into
    // its first MDL, split 30 + 40 + rest.
    let mut a = std::vec![0u8; 6];
    a.extend(crate::logic::tx::tests::tcp4_frame(false, 200));
    let a_len = a.len() - 6;
    let a_total = a.len();
    let a_mdls = mdl_chain(&mut a, &[36, 40, a_total - 76]);
    // Packet B: LSOv2 over a VLAN, one MDL.
    let mut b = crate::logic::tx::tests::tcp4_frame(true, 3000);
    let b_len = b.len();
    let b_mdls = mdl_chain(&mut b, &[b_len]);

    let mut nb_a = zeroed::<NET_BUFFER>();
    nb_a.MdlChain = &*a_mdls[0] as *const MDL as *mut MDL;
    nb_a.CurrentMdl = nb_a.MdlChain;
    nb_a.CurrentMdlOffset = 6;
    nb_a.DataOffset = 6;
    nb_a.DataLength = a_len;
    let mut nb_b = zeroed::<NET_BUFFER>();
    nb_b.MdlChain = &*b_mdls[0] as *const MDL as *mut MDL;
    nb_b.CurrentMdl = nb_b.MdlChain;
    nb_b.DataLength = b_len;

    let mut nbl_b = zeroed::<NET_BUFFER_LIST>();
    nbl_b.FirstNetBuffer = &mut *nb_b;
    let mut nbl_a = zeroed::<NET_BUFFER_LIST>();
    nbl_a.FirstNetBuffer = &mut *nb_a;
    nbl_a.Next = &mut *nbl_b;
    let csum =
        csum_info::TX_IS_IPV4 | csum_info::TX_TCP_CHECKSUM | csum_info::TX_IP_HEADER_CHECKSUM;
    let lso = 1460 | ((18 + 20) << lso_info::TCP_HEADER_OFFSET_SHIFT) | lso_info::TYPE_V2;
    // SAFETY: test-owned structures.
    unsafe {
        set_info_word(&mut *nbl_a, info::TCP_IP_CHECKSUM, csum);
        set_info_word(&mut *nbl_b, info::TCP_LARGE_SEND, lso);
    }
    // Fake bus addresses: the SG lists NDIS would have built.
    let sgl_a = sg_list(&[
        (0x10_0000, 30),
        (0x20_0000, 40),
        (0x30_0000, (a_len - 70) as u32),
    ]);
    let sgl_b = sg_list(&[(0x40_0000, 2000), (0x50_0000, (b_len - 2000) as u32)]);
    let sgls = [sgl_a.as_ptr(), sgl_b.as_ptr()];

    let head: *mut NET_BUFFER_LIST = &mut *nbl_a;
    let mut results = Vec::new();
    // SAFETY: the chain above lives for the whole loop.
    unsafe {
        for (i, nbl) in nbls(head).enumerate() {
            (*nbl).Next = core::ptr::null_mut(); // the send path unlinks as it goes
            for nb in net_buffers(nbl) {
                (*nb).MiniportReserved.0[NB_SLOT_NBL] = nbl.cast();
                let mut hdr = [0u8; MAX_HEADER];
                let n = copy_data(nb, &mut hdr).expect("mapped MDLs");
                let sg = sg_elements(sgls[i].cast());
                let mut segs = [DmaSegment::default(); 8];
                let built = tx::build(
                    sg,
                    (*nb).DataLength as u32,
                    &hdr[..n],
                    info_word(nbl, info::TCP_IP_CHECKSUM),
                    info_word(nbl, info::TCP_LARGE_SEND),
                    17,
                    &mut segs,
                )
                .unwrap();
                results.push((n, built, segs[..built.segments].to_vec()));
            }
        }
    }
    assert_eq!(
        results.len(),
        2,
        "both NBLs walked even though Next was cleared"
    );
    let (n, a_built, a_segs) = &results[0];
    assert_eq!(*n, MAX_HEADER);
    assert_eq!(a_segs.len(), 3);
    assert_eq!(a_segs.iter().map(|s| s.len as usize).sum::<usize>(), a_len);
    assert_eq!(
        (
            a_built.offload.l4,
            a_built.offload.l3_offset,
            a_built.offload.l4_len
        ),
        (L4Proto::Tcp, 14, 32)
    );
    assert!(a_built.offload.ipv4_csum && a_built.offload.tso_mss == 0);
    let (_, b_built, b_segs) = &results[1];
    assert_eq!(b_segs.len(), 2);
    assert_eq!(
        (b_built.offload.tso_mss, b_built.offload.l3_offset),
        (1460, 18)
    );
    assert_eq!(
        nb_a.MiniportReserved.0[NB_SLOT_NBL],
        (&mut *nbl_a as *mut NET_BUFFER_LIST).cast()
    );
}

#[test]
fn header_copy_stops_at_data_length_and_unmapped_mdls() {
    let mut data: Vec<u8> = (0..64u8).collect();
    let mdls = mdl_chain(&mut data, &[10, 54]);
    let mut nb = zeroed::<NET_BUFFER>();
    nb.MdlChain = &*mdls[0] as *const MDL as *mut MDL;
    nb.CurrentMdl = nb.MdlChain;
    nb.CurrentMdlOffset = 12; // beyond the first MDL: skips into the second
    nb.DataLength = 5;
    let mut out = [0u8; 16];
    // SAFETY: test-owned.
    assert_eq!(unsafe { copy_data(&*nb, &mut out) }, Some(5));
    assert_eq!(&out[..5], &[12, 13, 14, 15, 16]);
    let mut unmapped = zeroed::<MDL>();
    unmapped.ByteCount = 64;
    nb.CurrentMdl = &mut *unmapped;
    nb.CurrentMdlOffset = 0;
    // SAFETY: test-owned.
    assert_eq!(
        unsafe { copy_data(&*nb, &mut out) },
        None,
        "caller must map it"
    );
}

#[test]
fn receive_chains_link_and_restore() {
    let mut b0 = [0u8; 2048];
    let mut b1 = [0u8; 2048];
    let mut m0 = mdl_chain(&mut b0, &[2048]);
    let mut m1 = mdl_chain(&mut b1, &[2048]);
    let mut nb = zeroed::<NET_BUFFER>();
    nb.MdlChain = &mut *m0[0];
    let p0: *mut MDL = &mut *m0[0];
    let p1: *mut MDL = &mut *m1[0];
    // SAFETY: test-owned.
    unsafe {
        let total = set_rx_chain(&mut *nb, 2, &[(p0, 2046), (p1, 954)]);
        assert_eq!(total, 3000);
        assert_eq!(
            (nb.DataOffset, nb.CurrentMdlOffset, nb.DataLength),
            (2, 2, 3000)
        );
        assert_eq!(((*p0).ByteCount, (*p1).ByteCount), (2048, 954));
        assert_eq!((*p0).Next, p1);
        let mut out = [0u8; 16];
        assert_eq!(copy_data(&*nb, &mut out), Some(16));
        reset_rx_mdl(p0, 2048);
        reset_rx_mdl(p1, 2048);
        assert!((*p0).Next.is_null());
        assert_eq!((*p1).ByteCount, 2048);
        set_rx_data(&mut *nb, 0, 60);
        assert_eq!(nb.DataLength, 60);
        assert_eq!(sg_elements(core::ptr::null()).len(), 0);
        assert_eq!(
            info_word(&*zeroed::<NET_BUFFER_LIST>(), info::MAX),
            0,
            "out of range reads 0"
        );
    }
}
