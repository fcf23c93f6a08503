//! `cloudnic-emu`: the cloudnic device models as PCI functions for QEMU
//! guests, over vfio-user (QEMU `-device vfio-user-pci`).
//!
//! ```text
//! cloudnic-emu serve --ena SOCKET [--ena SOCKET ...] [--control SOCKET]
//!                    [--guest-pipe PREFIX] [--once] [--no-llq] [--verbose]
//! cloudnic-emu ctl SOCKET COMMAND...
//! ```
//! `serve` runs one vfio-user server per `--ena` socket, all in one
//! process; devices are cabled back to back in pairs (0↔1, 2↔3, ...). With
//! `--once` it exits after every device's QEMU connection has closed and
//! prints the final counters. `ctl` sends one control command (see
//! `control.rs`) and prints the reply. Facts and gotchas behind every choice:
//! shared/reference/vfio-user.md.

mod backend;
mod control;
mod device;
mod faults;
mod memory;
mod msix;
mod pci_config;
mod world;

use std::path::PathBuf;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use cloudnic_models::wire::Port;
use cloudnic_models::{EnaModelConfig, VirtualClock};
use vfio_user::Server;

use crate::backend::{irqs, regions, Backend};
use crate::device::{EmuDevice, EnaDevice};
use crate::memory::GuestRam;
use crate::msix::MsixVectors;
use crate::pci_config::ConfigSpace;
use crate::world::{Slot, World};

/// Period of the timer tick (keep-alive, delayed completions, cable backlog).
const TICK: Duration = Duration::from_millis(1);

struct Options {
    ena: Vec<PathBuf>,
    control: Option<PathBuf>,
    guest_pipe: Option<String>,
    once: bool,
    no_llq: bool,
    verbose: bool,
}

fn usage() -> ! {
    eprintln!(
        "usage: cloudnic-emu serve --ena SOCKET [--ena SOCKET ...] [--control SOCKET] \
         [--guest-pipe PREFIX] [--once] [--no-llq] [--verbose]\n       cloudnic-emu ctl SOCKET COMMAND..."
    );
    std::process::exit(2);
}

fn parse(args: &[String]) -> Options {
    let mut o = Options {
        ena: Vec::new(),
        control: None,
        guest_pipe: None,
        once: false,
        no_llq: false,
        verbose: false,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = || it.next().cloned().unwrap_or_else(|| usage());
        match a.as_str() {
            "--ena" => o.ena.push(val().into()),
            "--control" => o.control = Some(val().into()),
            "--guest-pipe" => o.guest_pipe = Some(val()),
            "--once" => o.once = true,
            "--no-llq" => o.no_llq = true,
            "--verbose" => o.verbose = true,
            _ => usage(),
        }
    }
    if o.ena.is_empty() {
        usage();
    }
    o
}

fn build_world(o: &Options) -> std::io::Result<(World, Vec<Server>)> {
    let clock = Rc::new(VirtualClock::new());
    let mut slots = Vec::new();
    let mut servers = Vec::new();
    let mut pending_port: Option<Port> = None;
    for (i, path) in o.ena.iter().enumerate() {
        let mut cfg = EnaModelConfig::default();
        // A distinct, locally administered MAC per device.
        cfg.mac[5] = (i + 1) as u8;
        if o.no_llq {
            cfg = cfg.without_llq();
        }
        let mem = Rc::new(GuestRam::new());
        let irq = Rc::new(MsixVectors::new(cfg.msix_vectors));
        let mut dev = EnaDevice::new(cfg, mem.clone(), clock.clone(), irq.clone())?;
        // Cable devices back to back in pairs.
        match pending_port.take() {
            Some(p) => dev.connect(p),
            None => {
                let (a, b) = Port::pair();
                dev.connect(a);
                pending_port = Some(b);
            }
        }
        let id = dev.identity();
        let config = ConfigSpace::network_function(&id, dev.msix_vectors());
        let _ = std::fs::remove_file(path);
        let server = Server::new(
            path,
            true,
            irqs(dev.msix_vectors()),
            regions(&id, dev.direct_bar()),
        )
        .map_err(|e| std::io::Error::other(format!("{}: {e:?}", path.display())))?;
        servers.push(server);
        slots.push(Slot {
            name: format!("ena{i}"),
            socket: path.clone(),
            dev: Box::new(dev),
            mem,
            irq,
            config,
            connected: false,
            messages: 0,
        });
    }
    Ok((World::new(clock, slots), servers))
}

fn serve(o: Options) -> std::io::Result<()> {
    let (world, servers) = build_world(&o)?;
    let world = Arc::new(world);
    if let Some(p) = &o.control {
        control::listen(world.clone(), p)?;
    }
    if let Some(p) = &o.guest_pipe {
        control::serve_guest_pipe(world.clone(), p)?;
    }
    for s in &world.lock().slots {
        eprintln!(
            "[emu] {} ({}) listening on {}",
            s.name,
            s.dev.kind(),
            s.socket.display()
        );
    }
    let stop = Arc::new(AtomicBool::new(false));
    let ticker = {
        let (world, stop) = (world.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(TICK);
                world.lock().tick_all();
            }
        })
    };
    let live = Arc::new(AtomicUsize::new(servers.len()));
    let mut threads = Vec::new();
    for (idx, server) in servers.into_iter().enumerate() {
        let (world, live, once, verbose) = (world.clone(), live.clone(), o.once, o.verbose);
        threads.push(std::thread::spawn(move || {
            let mut backend = Backend {
                world: world.clone(),
                idx,
                verbose,
            };
            loop {
                // `run` accepts one client and returns when it disconnects.
                let r = server.run(&mut backend);
                if let Err(e) = &r {
                    eprintln!("[emu {idx}] vfio-user session ended: {e:?}");
                } else {
                    eprintln!("[emu {idx}] client disconnected");
                }
                world.lock().disconnect(idx);
                if once {
                    break;
                }
            }
            live.fetch_sub(1, Ordering::Relaxed);
        }));
    }
    for t in threads {
        let _ = t.join();
    }
    stop.store(true, Ordering::Relaxed);
    let _ = ticker.join();
    println!(
        "{}",
        control::render(control::execute(&world, "counters all"))
    );
    let devices = world.lock().slots.len();
    for i in 0..devices {
        println!(
            "ledger ena{i}: {}",
            control::execute(&world, &format!("ledger {i}")).unwrap_or_default()
        );
    }
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("serve") => {
            if let Err(e) = serve(parse(&args[1..])) {
                eprintln!("cloudnic-emu: {e}");
                std::process::exit(1);
            }
        }
        Some("ctl") if args.len() >= 3 => {
            match control::client(std::path::Path::new(&args[1]), &args[2..].join(" ")) {
                Ok(body) => print!("{body}"),
                Err(e) => {
                    eprintln!("ERR {e}");
                    std::process::exit(1);
                }
            }
        }
        _ => usage(),
    }
}
