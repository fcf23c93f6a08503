//! cloudnic per-packet benchmark (not a timed test).
//!
//! Two ENA models back to back in zero-latency mode, one queue pair, ring
//! 1024, host placement, batches of 64. Node A transmits (one
//! `tx_post_burst` of 64 packets + doorbell, then TX completion), node B
//! receives (RX completion, then refill + doorbell). A second TX run posts
//! the same packets with one `tx_post` call each (the Linux shim's path). MMIO writes are held back during driver phases and replayed to
//! the model in its own phase, so the driver's cost is measured apart from
//! the model's. Figures:
//! - ns/packet per direction (wall clock, `Instant` around each 64-packet phase),
//! - instructions/packet per direction (valgrind callgrind, toggled on the
//!   driver-phase functions only; deterministic on noisy shared machines),
//! - the same for a minimal hand-written ring on the same memory (the
//!   baseline, measured in the same run) and the ratio to it.
//!
//! The same driver phases run for MANA (two MANA models, vPort 0, one queue
//! pair), through the same `NetDevice` interface, so the two devices'
//! per-packet costs print side by side.
//!
//! `cloudnic-bench [--iters N] [--device ena|mana] [--phase tx|tx-each|rx|base-tx|base-rx] [--no-callgrind]`

use std::hint::black_box;
use std::process::Command;
use std::time::{Duration, Instant};

use cloudnic_common::nic::{DmaSegment, NetDevice, RxBuffer, RxPacket, Token, TxOffload, TxPacket};
use cloudnic_common::{DmaRegion, Platform, RegisterBar};
use cloudnic_models::net::{pattern, CsumMode, FrameBuilder};
use cloudnic_tests::pair::{Node, Pair};
use cloudnic_tests::platform::{HostBar, HostDma, HostPlatform};
use cloudnic_tests::testbed::mana::{self, ManaNode, ManaPair};
use cloudnic_tests::testbed::{BackToBack, EnaNode, NodeOptions};

const BATCH: usize = 64;
const RING: u32 = 1024;

/// A node the benchmark can drive: its driver as a `NetDevice`, and its platform.
trait BenchNode: Node {
    /// The driver type.
    type Dev: NetDevice;
    /// The driver.
    fn nic(&mut self) -> &mut Self::Dev;
    /// The driver's platform.
    fn platform(&self) -> &HostPlatform;
    /// Size of the RX buffers the fixture posts.
    fn rx_buffer_size(&self) -> u32;
}

impl BenchNode for EnaNode {
    type Dev = cloudnic_tests::testbed::HostEna;
    fn nic(&mut self) -> &mut Self::Dev {
        self.dev.as_mut().expect("dev")
    }
    fn platform(&self) -> &HostPlatform {
        &self.plat
    }
    fn rx_buffer_size(&self) -> u32 {
        cloudnic_tests::testbed::RX_BUFFER_SIZE
    }
}

impl BenchNode for ManaNode {
    type Dev = mana::HostMana;
    fn nic(&mut self) -> &mut Self::Dev {
        self.dev.as_mut().expect("dev")
    }
    fn platform(&self) -> &HostPlatform {
        &self.plat
    }
    fn rx_buffer_size(&self) -> u32 {
        self.opts.rx_buf_size()
    }
}

fn ena_rig() -> BackToBack {
    let opts = |name: &str| {
        let mut o = NodeOptions::new(name);
        o.driver.max_queues = 1;
        o.driver.tx_ring_size = RING;
        o.driver.rx_ring_size = RING;
        o.model.zero_latency = true;
        o
    };
    BackToBack::with(opts("eth0"), opts("eth1"))
}

fn mana_rig() -> ManaPair {
    let opts = |name: &str| {
        let mut o = mana::NodeOptions::new(name);
        o.qcfg.num_queues = 1;
        o.qcfg.tx_ring_size = RING;
        o.qcfg.rx_ring_size = RING;
        o.model.zero_latency = true;
        o
    };
    ManaPair::with(opts("enP1s1"), opts("enP2s2"))
}

/// The rig: A transmits to B. The requests the harness hands the driver
/// are built once (TX packets) or updated in place (RX buffers: only the
/// returned buffer's address and token change), so the measured phases hold
/// the driver's work and as little of the harness's as possible.
struct Rig<N> {
    t: Pair<N>,
    tx_pkts: Vec<TxPacket<'static>>,
    rx_bufs: [RxBuffer; BATCH],
    sink: u64,
}

impl<N: BenchNode> Rig<N> {
    fn new(t: Pair<N>) -> Rig<N> {
        t.arena.set_strict(false);
        let mut tx_pkts = Vec::new();
        for i in 0..BATCH {
            let f = FrameBuilder::udp4([10, 0, 0, 1], [10, 0, 0, 2], 1000, 2000)
                .payload(&pattern(18, i as u8))
                .csum(CsumMode::Full)
                .build();
            let addr = t.arena.alloc(f.len(), 64).expect("arena");
            t.arena.store_bytes(addr, &f);
            // Leaked: the packets live as long as the benchmark process.
            let segments: &'static [DmaSegment] = Box::leak(Box::new([DmaSegment {
                addr,
                len: f.len() as u32,
            }]));
            tx_pkts.push(TxPacket {
                segments,
                header: &[],
                offload: TxOffload::default(),
                token: i as Token,
            });
        }
        let size = t.b.rx_buffer_size();
        t.a.platform().defer_mmio_writes(true);
        t.b.platform().defer_mmio_writes(true);
        Rig {
            t,
            tx_pkts,
            rx_bufs: [RxBuffer {
                addr: 0,
                len: size,
                token: 0,
            }; BATCH],
            sink: 0,
        }
    }

    /// Model phase: replay doorbells, let A transmit and B receive.
    fn run_models(&mut self) {
        self.t.a.platform().flush_mmio_writes();
        self.t.b.platform().flush_mmio_writes();
        self.t.a.tick_model();
        self.t.b.tick_model();
        self.t.a.platform().flush_mmio_writes();
        self.t.b.platform().flush_mmio_writes();
    }

    fn finish(self) {
        self.t.a.platform().defer_mmio_writes(false);
        self.t.b.platform().defer_mmio_writes(false);
        black_box(self.sink);
    }
}

#[inline(never)]
fn bench_phase_tx_post<N: BenchNode>(rig: &mut Rig<N>) {
    let dev = rig.t.a.nic();
    let r = dev.tx_post_burst(0, &rig.tx_pkts);
    assert_eq!(
        r.posted, BATCH,
        "tx_post_burst in steady state: {:?}",
        r.stopped
    );
    dev.tx_kick(0);
}

/// The same packets posted one `tx_post` call each (the Linux shim's
/// `ndo_start_xmit` path), for comparison with the burst.
#[inline(never)]
fn bench_phase_tx_post_each<N: BenchNode>(rig: &mut Rig<N>) {
    let dev = rig.t.a.nic();
    for pkt in &rig.tx_pkts {
        if let Err(e) = dev.tx_post(0, pkt) {
            panic!("tx_post in steady state: {e:?}");
        }
    }
    dev.tx_kick(0);
}

#[inline(never)]
fn bench_phase_tx_complete<N: BenchNode>(rig: &mut Rig<N>) {
    let dev = rig.t.a.nic();
    let mut sum = 0u64;
    let n = dev.tx_poll(0, BATCH as u32, &mut |t| sum = sum.wrapping_add(t));
    dev.unmask_queue_interrupt(0);
    assert_eq!(n as usize, BATCH, "TX completions");
    rig.sink = rig.sink.wrapping_add(sum);
}

#[inline(never)]
fn bench_phase_rx<N: BenchNode>(rig: &mut Rig<N>) {
    let dev = rig.t.b.nic();
    let bufs = &mut rig.rx_bufs;
    // Each returned buffer goes straight back (its token is its address).
    let mut returned = 0usize;
    let n = dev.rx_poll(0, BATCH as u32, |p: &RxPacket<'_>| {
        for f in p.frags {
            if let Some(b) = bufs.get_mut(returned) {
                b.addr = f.token;
                b.token = f.token;
                returned += 1;
            }
        }
    });
    assert_eq!(n as usize, BATCH, "RX packets");
    let posted = dev.rx_refill(0, &bufs[..returned]);
    dev.unmask_queue_interrupt(0);
    assert_eq!(posted as usize, returned);
}

/// A minimal hand-written ENA-like ring (no validation, no stats, no
/// offloads): the baseline, on the same memory and MMIO path.
struct Baseline {
    plat: HostPlatform,
    bar: HostBar,
    sq: HostDma,
    cq: HostDma,
    tokens: Vec<Token>,
    tail: u16,
    head: u16,
    dev_head: u16,
    addr: u64,
    sink: u64,
}

impl Baseline {
    fn new(plat: HostPlatform, desc_size: usize, cdesc_size: usize) -> Baseline {
        let sq = plat
            .alloc_dma(RING as usize * desc_size, 4096)
            .expect("dma");
        let cq = plat
            .alloc_dma(RING as usize * cdesc_size, 4096)
            .expect("dma");
        let addr = plat.arena().alloc(4096, 64).expect("buf");
        let bar = plat.bar(0);
        Baseline {
            plat,
            bar,
            sq,
            cq,
            tokens: vec![0; RING as usize],
            tail: 0,
            head: 0,
            dev_head: 0,
            addr,
            sink: 0,
        }
    }
    fn phase(counter: u16) -> u64 {
        ((counter / RING as u16) & 1 == 0) as u64
    }
    /// The "device": complete everything posted (not measured as driver).
    fn device_complete(&mut self, cdesc_size: usize) {
        while self.dev_head != self.tail {
            let i = (self.dev_head % RING as u16) as usize;
            let w = (i as u64) | (Self::phase(self.dev_head) << 24) | (60u64 << 32);
            self.cq.write64(i * cdesc_size, w);
            self.dev_head = self.dev_head.wrapping_add(1);
        }
        self.plat.flush_mmio_writes();
    }
}

#[inline(never)]
fn bench_phase_base_post(b: &mut Baseline, desc_size: usize) {
    for i in 0..BATCH {
        let idx = (b.tail % RING as u16) as usize;
        let w0 = 60u64 | ((idx as u64) << 16) | (Baseline::phase(b.tail) << 24) | (0b111 << 26);
        b.sq.write64(idx * desc_size, w0);
        b.sq.write64(idx * desc_size + 8, b.addr);
        b.tokens[idx] = i as Token;
        b.tail = b.tail.wrapping_add(1);
    }
    b.plat.write_barrier();
    b.bar.write32(0x1000, b.tail as u32);
}

#[inline(never)]
fn bench_phase_base_complete(b: &mut Baseline, cdesc_size: usize) {
    let mut n = 0;
    while n < BATCH {
        let idx = (b.head % RING as u16) as usize;
        let w = b.cq.read64(idx * cdesc_size);
        if (w >> 24) & 1 != Baseline::phase(b.head) {
            break;
        }
        let req = (w & 0xFFFF) as usize % RING as usize;
        b.sink = b.sink.wrapping_add(b.tokens[req]).wrapping_add(w >> 32);
        b.head = b.head.wrapping_add(1);
        n += 1;
    }
    b.bar.write32(0x1004, 1 << 30);
    assert_eq!(n, BATCH);
}

#[derive(Default)]
struct Times {
    tx: Duration,
    rx: Duration,
    model: Duration,
    base_tx: Duration,
    base_rx: Duration,
    packets: u64,
}

/// How the TX phase hands packets to the driver.
#[derive(Clone, Copy, PartialEq, Eq)]
enum TxMode {
    /// One `tx_post_burst` call per batch.
    Burst,
    /// One `tx_post` call per packet.
    Each,
}

/// Driver phases of one device: TX post + completion on A, RX on B.
fn run_device<N: BenchNode>(mut rig: Rig<N>, iters: u64, mode: TxMode, tm: &mut Times) {
    for it in 0..iters + 50 {
        let measure = it >= 50;
        let t0 = Instant::now();
        match mode {
            TxMode::Burst => bench_phase_tx_post(&mut rig),
            TxMode::Each => bench_phase_tx_post_each(&mut rig),
        }
        let t1 = Instant::now();
        rig.run_models();
        let t2 = Instant::now();
        bench_phase_tx_complete(&mut rig);
        let t3 = Instant::now();
        bench_phase_rx(&mut rig);
        let t4 = Instant::now();
        if measure {
            tm.tx += (t1 - t0) + (t3 - t2);
            tm.rx += t4 - t3;
            tm.model += t2 - t1;
            tm.packets += BATCH as u64;
        }
    }
    rig.finish();
}

/// The baseline ring, TX-shaped (16-byte descriptors, 8-byte completions)
/// or RX-shaped (16-byte completions), on the same memory and MMIO path.
fn run_baseline(plat: HostPlatform, iters: u64, cdesc: usize) -> Duration {
    let mut b = Baseline::new(plat, 16, cdesc);
    let mut acc = Duration::ZERO;
    for it in 0..iters + 50 {
        let t0 = Instant::now();
        bench_phase_base_post(&mut b, 16);
        let t1 = Instant::now();
        b.device_complete(cdesc);
        let t2 = Instant::now();
        bench_phase_base_complete(&mut b, cdesc);
        let t3 = Instant::now();
        if it >= 50 {
            acc += (t1 - t0) + (t3 - t2);
        }
    }
    black_box(b.sink);
    acc
}

fn run(device: &str, iters: u64, phase: Option<&str>) -> Times {
    let want = |p: &str| phase.is_none_or(|x| x == p);
    let mut tm = Times::default();
    if want("tx") || want("rx") {
        match device {
            "mana" => run_device(Rig::new(mana_rig()), iters, TxMode::Burst, &mut tm),
            _ => run_device(Rig::new(ena_rig()), iters, TxMode::Burst, &mut tm),
        }
    }
    if phase == Some("tx-each") {
        match device {
            "mana" => run_device(Rig::new(mana_rig()), iters, TxMode::Each, &mut tm),
            _ => run_device(Rig::new(ena_rig()), iters, TxMode::Each, &mut tm),
        }
    }
    if want("base-tx") || want("base-rx") {
        let t = ena_rig();
        t.arena.set_strict(false);
        t.a.plat.defer_mmio_writes(true);
        if want("base-tx") {
            tm.base_tx = run_baseline(t.a.plat.clone(), iters, 8);
        }
        if want("base-rx") {
            tm.base_rx = run_baseline(t.a.plat.clone(), iters, 16);
        }
        t.a.plat.defer_mmio_writes(false);
    }
    tm
}

/// Instructions per packet of the given driver-phase functions, via callgrind.
fn callgrind(iters: u64, phase: &str, functions: &[&str]) -> Option<f64> {
    let exe = std::env::current_exe().ok()?;
    let out = std::env::temp_dir().join(format!(
        "cloudnic-callgrind.{}.{}",
        std::process::id(),
        phase.replace(':', "-")
    ));
    let mut cmd = Command::new("valgrind");
    cmd.arg("--tool=callgrind")
        .arg("--collect-atstart=no")
        .arg(format!("--callgrind-out-file={}", out.display()));
    for f in functions {
        cmd.arg(format!("--toggle-collect=*{f}*"));
    }
    let (device, phase) = phase.split_once(':').unwrap_or(("ena", phase));
    cmd.arg(&exe).args([
        "--iters",
        &iters.to_string(),
        "--device",
        device,
        "--phase",
        phase,
        "--no-callgrind",
        "--quiet",
    ]);
    let status = cmd.output().ok()?;
    if !status.status.success() {
        eprintln!(
            "callgrind run failed: {}",
            String::from_utf8_lossy(&status.stderr)
        );
        return None;
    }
    let text = std::fs::read_to_string(&out).ok()?;
    let _ = std::fs::remove_file(&out);
    let total: u64 = text
        .lines()
        .find_map(|l| {
            l.strip_prefix("summary:")
                .or_else(|| l.strip_prefix("totals:"))
        })
        .and_then(|v| v.split_whitespace().next()?.parse().ok())?;
    // The run includes 50 warm-up batches besides `iters`.
    Some(total as f64 / ((iters + 50) as f64 * BATCH as f64))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let get = |k: &str| {
        args.iter()
            .position(|a| a == k)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let iters: u64 = get("--iters")
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    if args.iter().any(|a| a == "--quiet") {
        let device = get("--device").unwrap_or_else(|| "ena".into());
        run(&device, iters, get("--phase").as_deref());
        return;
    }
    let base = run("ena", iters, Some("base-tx"));
    let base_rx = run("ena", iters, Some("base-rx"));
    let ena = run("ena", iters, None);
    let ena_each = run("ena", iters, Some("tx-each"));
    let mana = run("mana", iters, None);
    let per = |d: Duration, pk: u64| d.as_nanos() as f64 / pk.max(1) as f64;
    let (btx, brx) = (
        per(base.base_tx, iters * BATCH as u64),
        per(base_rx.base_rx, iters * BATCH as u64),
    );
    println!("cloudnic-bench: host placement, ring {RING}, batch {BATCH}, {} packets per direction per device", ena.packets);
    println!();
    println!(
        "{:<30}{:>12}{:>10}{:>14}",
        "", "ns/packet", "Mpps", "vs baseline"
    );
    let row = |name: &str, v: f64, base: f64| {
        let ratio = if base > 0.0 {
            format!("{:.2}x", v / base)
        } else {
            String::new()
        };
        println!("{name:<30}{v:>12.1}{:>10.1}{ratio:>14}", 1e3 / v);
    };
    row("baseline ring TX-shaped", btx, 0.0);
    row("baseline ring RX-shaped", brx, 0.0);
    for (name, tm) in [("ENA", &ena), ("MANA", &mana)] {
        row(
            &format!("{name} driver TX (post+compl)"),
            per(tm.tx, tm.packets),
            btx,
        );
        if name == "ENA" {
            row(
                "ENA driver TX, tx_post each",
                per(ena_each.tx, ena_each.packets),
                btx,
            );
        }
        row(
            &format!("{name} driver RX (poll+refill)"),
            per(tm.rx, tm.packets),
            brx,
        );
        row(
            &format!("{name} model (both directions)"),
            per(tm.model, tm.packets),
            0.0,
        );
    }

    if args.iter().any(|a| a == "--no-callgrind")
        || Command::new("valgrind").arg("--version").output().is_err()
    {
        println!("\n(instruction counts skipped: valgrind not run)");
        return;
    }
    let ci = 300;
    let btx = callgrind(
        ci,
        "ena:base-tx",
        &["bench_phase_base_post", "bench_phase_base_complete"],
    );
    let brx = callgrind(
        ci,
        "ena:base-rx",
        &["bench_phase_base_post", "bench_phase_base_complete"],
    );
    println!(
        "\ninstructions/packet (callgrind, driver phases only, {} packets per run):",
        ci * BATCH as u64
    );
    let show = |name: &str, v: Option<f64>, b: Option<f64>| match (v, b) {
        (Some(v), Some(b)) => println!(
            "  {name:<30}{v:>8.1}   baseline {b:>6.1}   ratio {:.2}x",
            v / b
        ),
        (Some(v), None) => println!("  {name:<30}{v:>8.1}"),
        _ => println!("  {name:<30}     n/a"),
    };
    for dev in ["ena", "mana"] {
        let tx = callgrind(
            ci,
            &format!("{dev}:tx"),
            &["bench_phase_tx_post", "bench_phase_tx_complete"],
        );
        let rx = callgrind(ci, &format!("{dev}:rx"), &["bench_phase_rx"]);
        show(
            &format!("{} driver TX (post+compl)", dev.to_uppercase()),
            tx,
            btx,
        );
        if dev == "ena" {
            let each = callgrind(
                ci,
                "ena:tx-each",
                &["bench_phase_tx_post_each", "bench_phase_tx_complete"],
            );
            show("ENA driver TX, tx_post each", each, btx);
        }
        show(
            &format!("{} driver RX (poll+refill)", dev.to_uppercase()),
            rx,
            brx,
        );
    }
}
