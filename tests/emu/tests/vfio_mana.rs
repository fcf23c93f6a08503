//! A MANA function end to end through the server without QEMU: the
//! `vfio_user` client reads the VF's PCI identity and BAR layout, maps a
//! memfd as guest RAM, enables MSI-X vector 0, brings the hardware channel
//! up through the SMC window the way mana.ko does (mana.md §2, §3.1), and
//! the control socket injects the MANA faults (link EQE 133, reset request
//! EQE 135, HWC timeout until the next teardown) whose EQEs must land in the
//! guest's HWC event queue.

mod common;

use std::io::Read;
use std::time::Duration;

use common::*;

use vfio_bindings::bindings::vfio::{VFIO_PCI_CONFIG_REGION_INDEX, VFIO_REGION_INFO_FLAG_MMAP};
use vfio_user::Client;

/// VF register map (mana.md §1.3).
const REG_DB_PAGE_OFFSET: u64 = 0x08;
const REG_DB_PAGE_SIZE: u64 = 0x10;
const REG_SHM_OFFSET: u64 = 0x18;
/// SMC message types (mana.md §2).
const SMC_ESTABLISH_HWC: u32 = 1;
const SMC_DESTROY_HWC: u32 = 2;
const SMC_RESPONSE: u32 = 1 << 7;
const SMC_OWNER_IS_PF: u32 = 1 << 31;
/// EQE types (mana.md §4.4).
const EQE_HWC_INIT_EQ_ID_DB: u8 = 129;
const EQE_HWC_INIT_DONE: u8 = 131;
const EQE_HWC_FPGA_RECONFIG: u8 = 132;
const EQE_HWC_SOC_RECONFIG_DATA: u8 = 133;
const EQE_HWC_RESET_REQUEST: u8 = 135;
/// One 4 KiB page per HWC queue in "guest RAM": EQ, CQ, RQ, SQ.
const EQ_PAGE: u64 = RAM_IOVA;
const QUEUE_PAGES: [u64; 4] = [
    RAM_IOVA,
    RAM_IOVA + 0x1000,
    RAM_IOVA + 0x2000,
    RAM_IOVA + 0x3000,
];

/// EQEs in the HWC EQ page as (type, details[0], owner bits), in ring order
/// up to the first empty slot.
fn eqes(ram: &std::fs::File) -> Vec<(u8, u32, u32)> {
    let mut page = vec![0u8; 4096];
    pread(ram, EQ_PAGE - RAM_IOVA, &mut page);
    page.chunks(16)
        .map(|e| {
            let d0 = u32::from_le_bytes(e[0..4].try_into().unwrap());
            let info = u32::from_le_bytes(e[12..16].try_into().unwrap());
            (info as u8, d0, info >> 29)
        })
        .take_while(|(_, _, owner)| *owner != 0)
        .collect()
}

/// Write the 8-dword SMC window (dword 7 last: it hands the window over).
fn smc_send(c: &mut Client, smc: u64, window: [u32; 8]) -> u32 {
    for (i, w) in window.iter().enumerate() {
        w32(c, 0, smc + 4 * i as u64, *w);
    }
    r32(c, 0, smc + 28)
}

/// ESTABLISH_HWC with the four queue pages and MSI-X vector 0.
fn establish_window() -> [u32; 8] {
    let mut bytes = [0u8; 32];
    for (i, addr) in QUEUE_PAGES.iter().enumerate() {
        let pfn = addr >> 12;
        bytes[i * 6..i * 6 + 6].copy_from_slice(&pfn.to_le_bytes()[..6]);
    }
    // bytes 24-25: high PFN bits (0), 26-27: MSI-X index 0.
    bytes[28..32].copy_from_slice(&SMC_ESTABLISH_HWC.to_le_bytes());
    let mut w = [0u32; 8];
    for (i, d) in w.iter_mut().enumerate() {
        *d = u32::from_le_bytes(bytes[i * 4..i * 4 + 4].try_into().unwrap());
    }
    w
}

fn eventfd_count(ev: &std::fs::File) -> u64 {
    let mut b = [0u8; 8];
    match (&*ev).read(&mut b) {
        Ok(8) => u64::from_ne_bytes(b),
        _ => 0,
    }
}

#[test]
fn a_vfio_user_client_brings_up_a_mana_hwc_and_sees_fault_events() {
    let srv = Server::start_kind("mana", "mana");
    let mut c = Client::new(&srv.sock("a.sock")).unwrap();
    let c2 = Client::new(&srv.sock("b.sock")).unwrap();

    // Identity: Microsoft 1414:00ba (the VF), Ethernet class; MSI-X table in
    // BAR4 (offset 0) and PBA at BAR4+0x2000, clear of BAR0's doorbell pages.
    let cfg = VFIO_PCI_CONFIG_REGION_INDEX;
    assert_eq!(r32(&mut c, cfg, 0), 0x00ba_1414);
    assert_eq!(r32(&mut c, cfg, 8) >> 8, 0x02_0000);
    let mut cap = u64::from(r32(&mut c, cfg, 0x34) & 0xFF);
    let mut msix = None;
    while cap != 0 {
        let w = r32(&mut c, cfg, cap);
        if w as u8 == 0x11 {
            msix = Some(cap);
        }
        cap = u64::from((w >> 8) as u8);
    }
    let msix = msix.expect("MSI-X capability");
    assert_eq!(r32(&mut c, cfg, msix + 4), 4, "table: BAR4 + 0");
    assert_eq!(r32(&mut c, cfg, msix + 8), 0x2000 | 4, "PBA: BAR4 + 0x2000");
    let vectors = ((r32(&mut c, cfg, msix) >> 16) & 0x7FF) + 1;
    assert!(
        vectors >= 3,
        "HWC + one per queue on a 2-CPU guest: {vectors}"
    );
    assert_eq!(c.region(0).unwrap().size, 32 * 1024);
    assert_eq!(c.region(2).unwrap().size, 0, "no BAR2 on MANA");
    assert_eq!(c.region(4).unwrap().size, 0x4000);
    assert_eq!(c.region(0).unwrap().flags & VFIO_REGION_INFO_FLAG_MMAP, 0);

    // BAR0 registers as mana.ko reads them (db page >= 4 KiB, in BAR0).
    assert_eq!(r32(&mut c, 0, REG_DB_PAGE_SIZE) & 0xFFFF, 0x1000);
    assert_eq!(r32(&mut c, 0, REG_DB_PAGE_OFFSET), 0x1000);
    let smc = u64::from(r32(&mut c, 0, REG_SHM_OFFSET));
    assert!(smc + 32 <= 0x1000 && smc % 4 == 0, "SMC window {smc:#x}");

    // Guest RAM and vector 0 (the HWC EQ's).
    let (ram, ev) = map_ram_and_vector0(&mut c);

    // SMC ESTABLISH_HWC: the answer is a response of the same type, status
    // 0, window handed back; the init EQEs land in our EQ page with owner
    // count 1 and vector 0 fires.
    let hdr = smc_send(&mut c, smc, establish_window());
    assert_eq!(hdr & 0x7, SMC_ESTABLISH_HWC, "{hdr:#x}");
    assert_ne!(hdr & SMC_RESPONSE, 0, "{hdr:#x}");
    assert_eq!((hdr >> 8) & 0xFF, 0, "status {hdr:#x}");
    assert_eq!(hdr & SMC_OWNER_IS_PF, 0, "{hdr:#x}");
    let init = eqes(&ram);
    assert_eq!(init.first().map(|e| e.0), Some(EQE_HWC_INIT_EQ_ID_DB));
    assert_eq!(init.last().map(|e| e.0), Some(EQE_HWC_INIT_DONE));
    assert!(init.iter().all(|e| e.2 == 1), "owner count 1: {init:?}");
    assert!(eventfd_count(&ev) >= 1, "MSI-X vector 0 fired");
    let list = srv.ctl("list");
    assert!(list.contains("mana0 mana"), "{list}");

    // Faults through the control socket post their EQEs on the HWC EQ. The
    // EQ is disarmed after its first interrupt, so the EQEs just accumulate.
    let n = init.len();
    srv.ctl("inject mana0 link-down");
    srv.ctl("inject mana0 reset-request");
    srv.ctl("inject mana0 fpga-reconfig");
    let after = eqes(&ram);
    assert_eq!(
        after[n..].iter().map(|e| e.0).collect::<Vec<_>>(),
        vec![
            EQE_HWC_SOC_RECONFIG_DATA,
            EQE_HWC_RESET_REQUEST,
            EQE_HWC_FPGA_RECONFIG
        ]
    );
    assert_eq!(after[n].1 >> 24, 3, "EQE 133 type 3: link disconnect");
    let counters = srv.ctl("counters mana0");
    assert_eq!(counter(&counters, "mana0.link_up"), 0);
    assert_eq!(counter(&counters, "mana0.hwc_established"), 1);
    assert_eq!(counter(&counters, "mana0.faults_fired"), 3);
    assert!(counter(&counters, "mana0.mmio_writes") >= 8);
    assert!(counter(&counters, "mana0.interrupts") >= 1);
    srv.ctl("mark t");
    assert!(srv.ctl("since t").starts_with("mana0 packets=0"));

    // An HWC timeout armed until the next teardown: SMC DESTROY_HWC clears it.
    let armed = srv.ctl("inject mana0 hwc-timeout forever any until-reset");
    assert!(armed.contains("HwcNoResponse"), "{armed}");
    assert!(srv.ctl("faults mana0").contains("HwcNoResponse"));
    let hdr = smc_send(&mut c, smc, [0, 0, 0, 0, 0, 0, 0, SMC_DESTROY_HWC]);
    assert_eq!(hdr & 0x7, SMC_DESTROY_HWC);
    assert_eq!((hdr >> 8) & 0xFF, 0, "status {hdr:#x}");
    std::thread::sleep(Duration::from_millis(20));
    assert!(!srv.ctl("faults mana0").contains("HwcNoResponse"));
    let counters = srv.ctl("counters mana0");
    assert_eq!(counter(&counters, "mana0.hwc_established"), 0);
    assert_eq!(counter(&counters, "mana0.hwc_destroys"), 1);
    // Unknown MANA faults are refused with a reason.
    assert!(
        std::process::Command::new(env!("CARGO_BIN_EXE_cloudnic-emu"))
            .arg("ctl")
            .arg(srv.sock("ctl.sock"))
            .args(["inject", "mana0", "keepalive-loss"])
            .output()
            .map(|o| !o.status.success())
            .unwrap()
    );

    // Both clients gone: --once ends the server, which prints totals and
    // the ledgers under the MANA names.
    drop(c);
    drop(c2);
    let out = srv.finish();
    assert!(out.contains("mana0.hwc_destroys=1"), "{out}");
    assert!(out.contains("ledger mana1: posted=0"), "{out}");
}
