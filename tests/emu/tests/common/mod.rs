//! Shared fixture of the server tests: a `cloudnic-emu serve --once` child
//! with two devices of one kind and a control socket, the `vfio_user`
//! crate's client playing QEMU, a memfd as guest RAM and eventfds as MSI-X.

#![allow(dead_code)]

use std::fs::File;
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use vfio_bindings::bindings::vfio::{
    VFIO_IRQ_SET_ACTION_TRIGGER, VFIO_IRQ_SET_DATA_EVENTFD, VFIO_PCI_MSIX_IRQ_INDEX,
};
use vfio_user::Client;

/// Guest-physical address where the test maps its "RAM".
pub const RAM_IOVA: u64 = 0x10_0000;
pub const RAM_SIZE: usize = 1 << 20;

pub fn memfd(len: usize) -> File {
    // SAFETY: plain syscall with a static C string.
    let fd = unsafe { libc::memfd_create(c"test-ram".as_ptr(), 0) };
    assert!(fd >= 0);
    // SAFETY: fresh descriptor we own.
    let f = unsafe { File::from_raw_fd(fd) };
    f.set_len(len as u64).unwrap();
    f
}

pub fn eventfd() -> File {
    // SAFETY: plain syscall.
    let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK) };
    assert!(fd >= 0);
    // SAFETY: fresh descriptor we own.
    unsafe { File::from_raw_fd(fd) }
}

/// Map a fresh memfd as guest RAM at [`RAM_IOVA`] and route MSI-X vector 0
/// to a fresh eventfd, as QEMU would: (RAM, vector 0's eventfd).
pub fn map_ram_and_vector0(c: &mut Client) -> (File, File) {
    let ram = memfd(RAM_SIZE);
    c.dma_map(0, RAM_IOVA, RAM_SIZE as u64, ram.as_raw_fd())
        .unwrap();
    let ev = eventfd();
    c.set_irqs(
        VFIO_PCI_MSIX_IRQ_INDEX,
        VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER,
        0,
        1,
        &[ev.as_raw_fd()],
    )
    .unwrap();
    (ram, ev)
}

pub fn pread(f: &File, off: u64, buf: &mut [u8]) {
    use std::os::unix::fs::FileExt;
    f.read_exact_at(buf, off).unwrap();
}

pub struct Server {
    pub child: Child,
    pub dir: PathBuf,
}

impl Server {
    pub fn start(name: &str) -> Server {
        Self::start_kind(name, "ena")
    }
    /// Two devices of `kind` ("ena" or "mana") on a.sock and b.sock.
    pub fn start_kind(name: &str, kind: &str) -> Server {
        let dir =
            std::env::temp_dir().join(format!("cloudnic-emu-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_cloudnic-emu"))
            .args(["serve", "--once", &format!("--{kind}")])
            .arg(dir.join("a.sock"))
            .arg(format!("--{kind}"))
            .arg(dir.join("b.sock"))
            .arg("--control")
            .arg(dir.join("ctl.sock"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let t = Instant::now();
        while !dir.join("ctl.sock").exists() || !dir.join("b.sock").exists() {
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "server did not start"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        Server { child, dir }
    }
    pub fn sock(&self, n: &str) -> PathBuf {
        self.dir.join(n)
    }
    pub fn ctl(&self, cmd: &str) -> String {
        ctl(&self.sock("ctl.sock"), cmd)
    }
}

impl Server {
    /// Wait for a `--once` server to end (both clients gone) and return what
    /// it printed (the totals and ledgers); it must exit successfully.
    pub fn finish(mut self) -> String {
        let mut out = String::new();
        self.child
            .stdout
            .take()
            .expect("server stdout")
            .read_to_string(&mut out)
            .unwrap();
        assert!(self.child.wait().unwrap().success());
        out
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub fn ctl(path: &Path, cmd: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_cloudnic-emu"))
        .arg("ctl")
        .arg(path)
        .args(cmd.split_whitespace())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ctl {cmd}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

pub fn counter(report: &str, name: &str) -> u64 {
    report
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} in {report}"))
        .parse()
        .unwrap()
}

pub fn w32(c: &mut Client, region: u32, off: u64, v: u32) {
    c.region_write(region, off, &v.to_le_bytes()).unwrap();
}

pub fn r32(c: &mut Client, region: u32, off: u64) -> u32 {
    let mut b = [0u8; 4];
    c.region_read(region, off, &mut b).unwrap();
    u32::from_le_bytes(b)
}
