//! `cloudnic-emu`: the cloudnic device models as PCI functions for QEMU
//! guests, over vfio-user (QEMU `-device vfio-user-pci`).
//!
//! ```text
//! cloudnic-emu serve [--ena SOCKET ...] [--mana SOCKET ...] [--control SOCKET]
//!                    [--guest-pipe PREFIX] [--once] [--no-llq] [--verbose]
//! cloudnic-emu ctl SOCKET COMMAND...
//! ```
//! `serve` runs one vfio-user server per `--ena` / `--mana` socket, all in
//! one process; devices of one kind are cabled back to back in pairs in the
//! order given (ena0↔ena1, mana0↔mana1, ...). With
//! `--once` it exits after every device's QEMU connection has closed and
//! prints the final counters. `ctl` sends one control command (see
//! `control.rs`) and prints the reply. Facts and gotchas behind every choice:
//! shared/reference/vfio-user.md.

mod backend;
mod control;
mod device;
mod fault_desk;
mod faults;
mod mana_device;
mod mana_faults;
mod memory;
mod msix;
mod pci_config;
mod world;

use std::path::PathBuf;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use cloudnic_models::mana::ManaModelConfig;
use cloudnic_models::wire::Port;
use cloudnic_models::{EnaModelConfig, VirtualClock};
use vfio_user::Server;

use crate::backend::{irqs, regions, Backend};
use crate::device::{EmuDevice, EnaDevice};
use crate::mana_device::ManaDevice;
use crate::memory::GuestRam;
use crate::msix::MsixVectors;
use crate::pci_config::ConfigSpace;
use crate::world::{Slot, World};

/// Period of the timer tick (keep-alive, delayed completions, cable backlog).
const TICK: Duration = Duration::from_millis(1);

/// Device kinds the server can present.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Ena,
    Mana,
}

struct Options {
    devices: Vec<(Kind, PathBuf)>,
    control: Option<PathBuf>,
    guest_pipe: Option<String>,
    once: bool,
    no_llq: bool,
    verbose: bool,
}

fn usage() -> ! {
    eprintln!(
        "usage: cloudnic-emu serve [--ena SOCKET ...] [--mana SOCKET ...] [--control SOCKET] \
         [--guest-pipe PREFIX] [--once] [--no-llq] [--verbose]\n       cloudnic-emu ctl SOCKET COMMAND..."
    );
    std::process::exit(2);
}

fn parse(args: &[String]) -> Options {
    let mut o = Options {
        devices: Vec::new(),
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
            "--ena" => o.devices.push((Kind::Ena, val().into())),
            "--mana" => o.devices.push((Kind::Mana, val().into())),
            "--control" => o.control = Some(val().into()),
            "--guest-pipe" => o.guest_pipe = Some(val()),
            "--once" => o.once = true,
            "--no-llq" => o.no_llq = true,
            "--verbose" => o.verbose = true,
            _ => usage(),
        }
    }
    if o.devices.is_empty() {
        usage();
    }
    o
}

fn build_world(o: &Options) -> std::io::Result<(World, Vec<Server>)> {
    let clock = Rc::new(VirtualClock::new());
    let mut slots = Vec::new();
    let mut servers = Vec::new();
    // One cable end waiting for a partner, per kind.
    let mut pending: [Option<Port>; 2] = [None, None];
    let mut counts = [0usize; 2];
    for (kind, path) in &o.devices {
        let k = *kind as usize;
        let i = counts[k];
        counts[k] += 1;
        let mem = Rc::new(GuestRam::new());
        let (mut dev, name): (Box<dyn EmuDevice>, String) = match kind {
            Kind::Ena => {
                let mut cfg = EnaModelConfig::default();
                // A distinct, locally administered MAC per device.
                cfg.mac[5] = (i + 1) as u8;
                if o.no_llq {
                    cfg = cfg.without_llq();
                }
                let irq = Rc::new(MsixVectors::new(cfg.msix_vectors));
                let dev = EnaDevice::new(cfg, mem.clone(), clock.clone(), irq)?;
                (Box::new(dev), format!("ena{i}"))
            }
            Kind::Mana => {
                let cfg = ManaModelConfig::default().with_mac_suffix((i + 1) as u8);
                let irq = Rc::new(MsixVectors::new(cfg.msix_vectors));
                let dev = ManaDevice::new(cfg, mem.clone(), clock.clone(), irq);
                (Box::new(dev), format!("mana{i}"))
            }
        };
        // Cable devices of a kind back to back in pairs.
        match pending[k].take() {
            Some(p) => dev.connect(p),
            None => {
                let (a, b) = Port::pair();
                dev.connect(a);
                pending[k] = Some(b);
            }
        }
        let id = dev.identity();
        let msix = dev.msix_layout();
        let config = ConfigSpace::network_function(&id, dev.msix_vectors(), msix);
        let irq = dev.irq();
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
            name,
            socket: path.clone(),
            dev,
            mem,
            irq,
            config,
            msix,
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
    let names: Vec<String> = world.lock().slots.iter().map(|s| s.name.clone()).collect();
    for (i, name) in names.iter().enumerate() {
        println!(
            "ledger {name}: {}",
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
