//! The control protocol: one command per line, a reply of zero or more
//! lines, then `OK` or `ERR <reason>` on a line of its own.
//!
//! ```text
//! help                      this text
//! list                      devices: index, name, kind, socket, connected
//! counters [DEV|all]        lifetime model counters as name=value
//! ledger DEV                buffer-ledger totals, buffers and guest
//!                           addresses the device holds, rule violations
//! faults DEV                faults armed now
//! inject DEV FAULT [ARGS]   apply a fault (vocabulary in faults.rs)
//! clear DEV FAULT           disarm a fault kind
//! mark NAME                 snapshot every device's counters
//! since NAME                per device: deltas since the mark and MMIO
//!                           writes/reads and interrupts per 1000 packets
//! time                      virtual time in µs
//! ```
//! DEV is an index or a name (`ena0`, `mana1`). Served on a UNIX socket
//! (`--control`) and on a guest serial pipe (`--guest-pipe`), so a test
//! inside the guest can script faults and read counters in step with its
//! own traffic.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::sync::Arc;

use crate::world::{Inner, World};

/// Counters the `since` report turns into per-1000-packet rates.
const RATE_COUNTERS: [&str; 7] = [
    "mmio_writes",
    "mmio_reads",
    "readless_reads",
    "interrupts",
    "doorbells",
    "tx_doorbells",
    "rx_doorbells",
];

/// Execute one command line; `Ok(body)` or `Err(reason)`.
pub fn execute(world: &World, line: &str) -> Result<String, String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let Some((&cmd, args)) = words.split_first() else {
        return Ok(String::new());
    };
    let mut w = world.lock();
    let dev = |w: &Inner, i: usize| -> Result<usize, String> {
        let key = args.get(i).ok_or("missing DEV")?;
        w.find(key).ok_or_else(|| format!("no device '{key}'"))
    };
    match cmd {
        "help" => Ok(HELP.trim().to_string()),
        "time" => Ok(w.now_us().to_string()),
        "list" => Ok(w
            .slots
            .iter()
            .enumerate()
            .map(|(i, s)| {
                format!(
                    "{i} {} {} {} connected={} bus_master={} dma_regions={:?} dma_faults={} msix_enabled={} bar_messages={}",
                    s.name,
                    s.dev.kind(),
                    s.socket.display(),
                    s.connected,
                    s.config.bus_master(),
                    s.mem.region_counts(),
                    s.mem.faults(),
                    s.irq.enabled(),
                    s.messages
                )
            })
            .collect::<Vec<_>>()
            .join("\n")),
        "counters" => {
            let which: Vec<usize> = match args.first() {
                None | Some(&"all") => (0..w.slots.len()).collect(),
                Some(_) => vec![dev(&w, 0)?],
            };
            Ok(which
                .iter()
                .map(|&i| {
                    let s = &w.slots[i];
                    s.dev
                        .counters()
                        .iter()
                        .map(|(k, v)| format!("{}.{k}={v}", s.name))
                        .collect::<Vec<_>>()
                        .join("\n")
                })
                .collect::<Vec<_>>()
                .join("\n"))
        }
        "ledger" => {
            let i = dev(&w, 0)?;
            Ok(w.slots[i].dev.ledger())
        }
        "faults" => {
            let i = dev(&w, 0)?;
            Ok(w.slots[i].dev.faults())
        }
        "inject" | "clear" => {
            let i = dev(&w, 0)?;
            let rest = args.get(1..).unwrap_or(&[]);
            let s = &mut w.slots[i];
            let r = if cmd == "inject" {
                s.dev.inject(rest)
            } else {
                s.dev.clear(rest)
            };
            let name = s.name.clone();
            if r.is_ok() {
                eprintln!("[emu] {cmd} {name}: {}", rest.join(" "));
            }
            // Deliver what the fault posted (AENQ events) right away.
            w.tick_all();
            r
        }
        "mark" => {
            let name = args.first().ok_or("missing NAME")?.to_string();
            let snap = w.slots.iter().map(|s| s.dev.counters()).collect();
            w.marks.insert(name, snap);
            Ok(String::new())
        }
        "since" => {
            let name = args.first().ok_or("missing NAME")?;
            let snap = w.marks.get(*name).ok_or("no such mark")?;
            let mut out = Vec::new();
            for (s, before) in w.slots.iter().zip(snap) {
                let now = s.dev.counters();
                let get = |v: &[(String, u64)], k: &str| {
                    v.iter().find(|(n, _)| n == k).map_or(0, |(_, x)| *x)
                };
                let d = |k: &str| get(&now, k).saturating_sub(get(before, k));
                let packets = d("packets");
                let mut line = format!("{} packets={packets} bytes={}", s.name, d("bytes_tx") + d("bytes_rx"));
                for k in RATE_COUNTERS {
                    line.push_str(&format!(" {k}={}", d(k)));
                }
                for k in RATE_COUNTERS {
                    let per = if packets == 0 {
                        0.0
                    } else {
                        d(k) as f64 * 1000.0 / packets as f64
                    };
                    line.push_str(&format!(" {k}_per_1000={per:.1}"));
                }
                out.push(line);
            }
            Ok(out.join("\n"))
        }
        other => Err(format!("unknown command '{other}' (try help)")),
    }
}

const HELP: &str = "
list | counters [DEV|all] | ledger DEV | faults DEV | inject DEV FAULT [ARGS] [until-reset]
clear DEV FAULT | mark NAME | since NAME | time
ENA faults: keepalive-loss | tx-withhold [SQ] | link-down | link-up | link-flap MS | reset-request
        fatal | lost-irq [VEC] [N] | bad-tx-req-id [SQ] [N] | bad-rx-req-id [SQ] [N]
        admin-drop [N] | readless-drop [N]
MANA faults: link-down | link-up | link-flap MS | reset-request [DATA] | fpga-reconfig
        hwc-timeout [N] [CODE] | hwc-drop [N] [CODE] | hwc-timeout-reconfig MS
        lost-irq [VEC] [N] | tx-withhold [SQ]
";

/// Reply text for a result: body lines then OK / ERR.
pub fn render(r: Result<String, String>) -> String {
    match r {
        Ok(body) if body.is_empty() => "OK\n".to_string(),
        Ok(body) => format!("{body}\nOK\n"),
        Err(e) => format!("ERR {e}\n"),
    }
}

/// Serve a line stream until it closes.
pub fn serve_stream(world: &World, input: impl BufRead, mut output: impl Write) {
    for line in input.lines() {
        let Ok(line) = line else { break };
        let line = line.trim_matches(|c: char| c == '\r' || c.is_whitespace());
        if line.is_empty() {
            continue;
        }
        let reply = render(execute(world, line));
        if output.write_all(reply.as_bytes()).is_err() || output.flush().is_err() {
            break;
        }
    }
}

/// Accept control connections on `path` forever (one thread each).
pub fn listen(world: Arc<World>, path: &Path) -> std::io::Result<()> {
    let _ = std::fs::remove_file(path);
    let listener = UnixListener::bind(path)?;
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let world = world.clone();
            std::thread::spawn(move || {
                if let Ok(r) = conn.try_clone() {
                    serve_stream(&world, BufReader::new(r), conn);
                }
            });
        }
    });
    Ok(())
}

/// Serve the guest's serial pipe: QEMU `-chardev pipe,path=PREFIX` writes the
/// guest's output to PREFIX.out and reads its input from PREFIX.in.
pub fn serve_guest_pipe(world: Arc<World>, prefix: &str) -> std::io::Result<()> {
    let open = |p: String| {
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&p)
            .map_err(|e| std::io::Error::new(e.kind(), format!("{p}: {e}")))
    };
    let from_guest = open(format!("{prefix}.out"))?;
    let to_guest = open(format!("{prefix}.in"))?;
    std::thread::spawn(move || serve_stream(&world, BufReader::new(from_guest), to_guest));
    Ok(())
}

/// Client side: send one command, print the reply body; Ok if it ended in OK.
pub fn client(path: &Path, command: &str) -> Result<String, String> {
    let mut s = UnixStream::connect(path).map_err(|e| format!("{}: {e}", path.display()))?;
    s.write_all(format!("{command}\n").as_bytes())
        .map_err(|e| e.to_string())?;
    let mut body = String::new();
    for line in BufReader::new(s).lines() {
        let line = line.map_err(|e| e.to_string())?;
        if line == "OK" {
            return Ok(body);
        }
        if let Some(e) = line.strip_prefix("ERR") {
            return Err(e.trim().to_string());
        }
        body.push_str(&line);
        body.push('\n');
    }
    Err("connection closed before the reply ended".into())
}
