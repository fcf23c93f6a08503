//! cloudnic demo: two ENA device models cabled back to back, driven by the
//! real cloudnic ENA driver through the host platform. Passes traffic, stops
//! the keep-alive of one device, and shows the watchdog reset the way AWS
//! documents it for ENA, with `ethtool -S`-style counters before and after.
//! Then the same for two MANA models: traffic, a device-requested reset
//! (EQE 135), recovery. Both devices are driven through the one
//! `cloudnic_common::nic::NetDevice` interface.

use cloudnic_common::nic::NetDevice;
use cloudnic_models::ena::{EnaFault, EnaModelConfig};
use cloudnic_models::mana::ManaFault;
use cloudnic_models::net::{pattern, CsumMode, FrameBuilder};
use cloudnic_tests::testbed::mana::ManaPair;
use cloudnic_tests::testbed::{BackToBack, EnaNode, NodeOptions};

fn frames(n: usize, seed: u8) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            FrameBuilder::tcp4([10, 0, 0, 1], [10, 0, 0, 2], 40_000 + i as u16, 443)
                .payload(&pattern(200 + (i % 1200), seed.wrapping_add(i as u8)))
                .csum(CsumMode::Partial)
                .build()
        })
        .collect()
}

/// `ethtool -S`, filtered, for any cloudnic device.
fn show_stats(title: &str, dev: &impl NetDevice, filter: &[&str]) {
    println!("\n$ ethtool -S {title}");
    println!("NIC statistics:");
    dev.for_each_stat(&mut |name, v| {
        let name = name.to_string();
        if filter.iter().any(|f| name == *f) {
            println!("     {name}: {v}");
        }
    });
}

fn dev(node: &EnaNode) -> &impl NetDevice {
    node.dev.as_ref().expect("driver probed")
}

/// Print the driver's log, shortening the statistics dump the way AWS's
/// troubleshooting page does ("......").
fn print_abbreviated(lines: &[(cloudnic_common::LogLevel, String)]) {
    let mut dump_lines = 0;
    for (_, l) in lines {
        let is_dump = l
            .rsplit_once(": ")
            .is_some_and(|(_, v)| v.parse::<u64>().is_ok());
        if is_dump {
            dump_lines += 1;
            if dump_lines == 12 {
                println!(
                    "  .......   ({} counters dumped in total, see below)",
                    count_dump(lines)
                );
            }
            if dump_lines >= 12 {
                continue;
            }
        }
        println!("  {l}");
    }
}

fn count_dump(lines: &[(cloudnic_common::LogLevel, String)]) -> usize {
    lines
        .iter()
        .filter(|(_, l)| {
            l.rsplit_once(": ")
                .is_some_and(|(_, v)| v.parse::<u64>().is_ok())
        })
        .count()
}

fn section(s: &str) {
    println!("\n=== {s} ===");
}

fn main() {
    let ena_ok = ena_demo();
    let mana_ok = mana_demo();
    if !(ena_ok && mana_ok) {
        eprintln!("demo: unexpected result");
        std::process::exit(1);
    }
}

fn ena_demo() -> bool {
    const KEY: &[&str] = &[
        "total_resets",
        "reset_fail",
        "wd_expired",
        "interface_up",
        "interface_down",
        "admin_q_pause",
        "ena_admin_q_submitted_cmd",
        "ena_admin_q_completed_cmd",
        "queue_0_tx_cnt",
        "queue_0_tx_bytes",
        "queue_0_tx_doorbells",
        "queue_0_rx_cnt",
        "queue_0_rx_bytes",
        "queue_0_rx_csum_good",
        "queue_1_tx_cnt",
        "queue_1_rx_cnt",
    ];

    section("bring-up: two ENA models back to back (virtual time)");
    // ENAv2-style functions: LLQ (TX descriptors and headers pushed into the
    // device's BAR2), as on current EC2 instances.
    let llq = || {
        let mut o = NodeOptions::new("eth0");
        o.model.bar2_size = EnaModelConfig::default().bar2_size;
        o
    };
    let mut t = BackToBack::with(
        llq(),
        NodeOptions {
            name: "eth1".into(),
            ..llq()
        },
    );
    t.a.plat.log_sink().set_echo(true);
    for (_, line) in t.a.plat.log_sink().lines() {
        println!("[    0.000000] {line}");
    }
    let info = *t.a.dev().info();
    println!(
        "eth0: mac {:02x?}, max MTU {}, {} queue pairs, offloads {:?}",
        info.mac, info.max_mtu, info.max_queues, info.offloads
    );

    section("traffic: 2000 TCP frames each way with checksum offload, RSS over 4 queues");
    let mut received = 0;
    for q in 0..2u16 {
        received += t.transfer('a', q, &frames(1000, q as u8), true, 0).len();
        received += t
            .transfer('b', q, &frames(1000, 7 + q as u8), true, 0)
            .len();
    }
    println!("frames received: {received} of 4000");
    show_stats("eth0 (before the fault)", dev(&t.a), KEY);

    section("fault: the device behind eth0 stops sending keep-alive events");
    t.a.plat.log_sink().set_echo(false);
    let before = t.a.plat.log_sink().lines().len();
    t.a.model.borrow_mut().inject(EnaFault::KeepAliveLoss);
    let start = t.clock.now_us();
    let resets = t.run_for(7_000_000);
    let at = t.clock.now_us();
    println!(
        "(virtual time {:.1} s -> {:.1} s; resets: {:?})",
        start as f64 / 1e6,
        at as f64 / 1e6,
        resets
    );
    t.a.model.borrow_mut().clear_fault(EnaFault::KeepAliveLoss);
    print_abbreviated(&t.a.plat.log_sink().lines()[before..]);

    section("after the reset: traffic resumes");
    let back = t.transfer('a', 0, &frames(500, 3), true, 0).len()
        + t.transfer('b', 0, &frames(500, 4), true, 0).len();
    println!("frames received after reset: {back} of 1000");
    show_stats("eth0 (after the reset)", dev(&t.a), KEY);

    let ok = received == 4000
        && back == 1000
        && t.a.stat("wd_expired") == Some(1)
        && t.a.stat("total_resets") == Some(1);
    t.a.plat.log_sink().set_echo(false);
    t.teardown_and_check();
    println!("\nledgers: every buffer returned exactly once, no DMA leaked");
    ok
}

fn mana_demo() -> bool {
    const KEY: &[&str] = &[
        "total_resets",
        "reset_fail",
        "stop_queue",
        "wake_queue",
        "tx_cq_err",
        "hc_rx_bytes",
        "hc_tx_bytes",
        "rx_0_packets",
        "rx_0_bytes",
        "tx_0_packets",
        "tx_0_bytes",
        "tx_0_csum_partial",
        "rx_1_packets",
        "tx_1_packets",
    ];
    section("MANA: two Azure Network Adapter models back to back (virtual time)");
    let mut t = ManaPair::new();
    for (_, line) in t.a.log().lines() {
        println!("[    0.000000] {line}");
    }
    section("MANA traffic: 2000 frames each way with checksum offload, RSS over 4 queues");
    // The MANA rig uses 256-entry rings: send in bursts the ring can hold.
    let mut received = 0;
    for q in 0..2u16 {
        for (side, seed) in [('a', q as u8), ('b', 9 + q as u8)] {
            for burst in frames(1000, seed).chunks(200) {
                received += t.transfer(side, 0, q, burst, true, 0).len();
            }
        }
    }
    println!("frames received: {received} of 4000");
    show_stats("enP1s1 (before the event)", t.a.dev(), KEY);

    section("event: the device asks for a reset (EQE 135, service update)");
    let before = t.a.log().lines().len();
    t.a.model
        .borrow_mut()
        .inject(ManaFault::ResetRequest { data: 0 });
    let resets = t.run_for(13_000_000);
    for (_, l) in &t.a.log().lines()[before..] {
        println!("  {l}");
    }
    println!("(resets: {resets:?})");
    let mut back = 0;
    for (side, seed) in [('a', 5), ('b', 6)] {
        for burst in frames(500, seed).chunks(200) {
            back += t.transfer(side, 0, 0, burst, true, 0).len();
        }
    }
    println!("frames received after reset: {back} of 1000");
    show_stats("enP1s1 (after the reset)", t.a.dev(), KEY);
    let ok = received == 4000 && back == 1000 && t.a.stat(0, "total_resets") == Some(1);
    t.teardown_and_check();
    println!("\nledgers: every buffer returned exactly once, no DMA leaked, no device object left");
    ok
}
