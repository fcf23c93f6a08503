//! The server end to end without QEMU: the `vfio_user` crate's own client
//! plays QEMU (config space, region info, DMA_MAP of a memfd, MSI-X
//! eventfds, BAR0 accesses, the mmap-able BAR2), and the control socket is
//! driven the way e2e/guest/init does.

mod common;

use std::time::Duration;

use common::*;

use cloudnic_ena::defs::regs::{mmio_reg_read_request, offset};
use vfio_bindings::bindings::vfio::{VFIO_PCI_CONFIG_REGION_INDEX, VFIO_REGION_INFO_FLAG_MMAP};
use vfio_user::Client;

#[test]
fn a_vfio_user_client_sees_an_ena_function() {
    let srv = Server::start("ena");
    let mut c = Client::new(&srv.sock("a.sock")).unwrap();
    // The second device must be connected too before --once can end.
    let c2 = Client::new(&srv.sock("b.sock")).unwrap();

    // Config space: IDs, class, capability chain.
    let cfg = VFIO_PCI_CONFIG_REGION_INDEX;
    assert_eq!(r32(&mut c, cfg, 0), 0xec20_1d0f);
    assert_eq!(r32(&mut c, cfg, 8) >> 8, 0x02_0000);
    assert_eq!(r32(&mut c, cfg, 0x34) & 0xFF, 0x70);

    // Regions: BAR0 trapped, BAR2 mmap-able through a memfd.
    assert_eq!(c.region(0).unwrap().size, 16 * 1024);
    let bar2 = c.region(2).unwrap();
    assert_eq!(bar2.size, 1 << 20);
    assert_ne!(bar2.flags & VFIO_REGION_INFO_FLAG_MMAP, 0);
    let bar2_fd = bar2
        .file_offset
        .as_ref()
        .expect("BAR2 fd")
        .file()
        .try_clone()
        .unwrap();

    // DMA: "guest RAM" is our memfd; MSI-X vector 0 is our eventfd.
    let (ram, ev) = map_ram_and_vector0(&mut c);

    // Readless register read (ena.md §2): the device answers by DMA into
    // the response buffer in guest RAM.
    w32(&mut c, 0, u64::from(offset::MMIO_RESP_LO), RAM_IOVA as u32);
    w32(&mut c, 0, u64::from(offset::MMIO_RESP_HI), 0);
    w32(
        &mut c,
        0,
        u64::from(offset::MMIO_REG_READ),
        mmio_reg_read_request(7, offset::VERSION as u16),
    );
    let mut resp = [0u8; 8];
    pread(&ram, 0, &mut resp);
    assert_eq!(u16::from_le_bytes([resp[0], resp[1]]), 7, "req id echoed");
    assert_eq!(
        u16::from_le_bytes([resp[2], resp[3]]),
        offset::VERSION as u16
    );
    assert_eq!(
        u32::from_le_bytes([resp[4], resp[5], resp[6], resp[7]]),
        r32(&mut c, 0, 0)
    );

    // BAR2: what the guest writes through the mapping is the model's BAR2.
    {
        use std::os::unix::fs::FileExt;
        bar2_fd
            .write_all_at(&0xA5A5_0001u32.to_le_bytes(), 0x40)
            .unwrap();
    }
    assert_eq!(r32(&mut c, 2, 0x40), 0xA5A5_0001);

    // Management interrupts: unmask (INTR_MASK = 0), then a fault posts
    // nothing (AENQ not configured) but the counters say so.
    w32(&mut c, 0, u64::from(offset::INTR_MASK), 0);
    let list = srv.ctl("list");
    assert!(list.contains("connected=true"), "{list}");
    srv.ctl("inject ena0 link-down");
    let counters = srv.ctl("counters ena0");
    assert_eq!(counter(&counters, "ena0.readless_reads"), 1);
    assert_eq!(counter(&counters, "ena0.aenq_dropped"), 1);
    assert_eq!(counter(&counters, "ena0.link_up"), 0);
    assert!(counter(&counters, "ena0.mmio_writes") >= 4);
    srv.ctl("mark t");
    assert!(srv.ctl("since t").starts_with("ena0 packets=0"));
    let faults = ctl(
        &srv.sock("ctl.sock"),
        "inject ena0 keepalive-loss until-reset",
    );
    assert!(faults.contains("KeepAliveLoss"));
    assert!(srv.ctl("faults ena0").contains("KeepAliveLoss"));
    // A device reset through DEV_CTL clears an until-reset fault.
    w32(&mut c, 0, u64::from(offset::DEV_CTL), 1);
    std::thread::sleep(Duration::from_millis(20));
    assert!(!srv.ctl("faults ena0").contains("KeepAliveLoss"));

    // Both clients gone: --once ends the server, which prints the totals.
    drop(c);
    drop(c2);
    let out = srv.finish();
    assert!(out.contains("ena0.readless_reads=1"), "{out}");
    let _ = ev;
}
