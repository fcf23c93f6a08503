#!/usr/bin/env bash
# The cloudnic e2e in one command:
#   bash e2e/run.sh --driver upstream [--device ena|mana]
# Boots Debian's cloud kernel (the vmlinuz linux/env.sh resolved) under QEMU TCG with two
# ENA NICs served by cloudnic-emu over vfio-user and cabled back to back, loads the driver
# under test (upstream: the unmodified ena.ko of the same kernel package), and runs
# e2e/guest/init: link, ping both ways, a checksummed bulk transfer, ethtool, keep-alive
# loss -> watchdog reset -> traffic resumes. Prints the checks and a measurement table
# (boot-to-link, ping RTT, throughput, and per 1000 packets the MMIO writes/reads and
# interrupts the model counted). Idempotent; everything heavy is cached (e2e/lib.sh).
# Environment: E2E_TIMEOUT (s, default 900), E2E_SMP (guest vCPUs, default 2),
# E2E_BULK_MB (default 64), E2E_PHASES (default all; a comma list of
# ethtool,reconfig,flap,keepalive,faults), E2E_EMU_VERBOSE=1 (log every vfio-user message).
set -euo pipefail
E2E_DIR=$(cd "$(dirname "$0")" && pwd)
DRIVER=upstream
DEVICE=ena
while [ $# -gt 0 ]; do
  case "$1" in
    --driver) DRIVER=${2:?--driver needs a value}; shift 2 ;;
    --device) DEVICE=${2:?--device needs a value}; shift 2 ;;
    *) echo "usage: $0 [--driver upstream] [--device ena|mana]" >&2; exit 2 ;;
  esac
done
case "$DEVICE" in
  ena | mana) ;;
  *) echo "device '$DEVICE' is not supported (ena, mana)" >&2; exit 2 ;;
esac
case "$DRIVER" in
  upstream) ;;
  *) echo "driver '$DRIVER' is not supported yet (only: upstream)" >&2; exit 2 ;;
esac

[ "${E2E_SKIP_ENV:-0}" = 1 ] || bash "$E2E_DIR/env.sh"
. "$E2E_DIR/lib.sh"
load_current_env
load_e2e_env
REPO=$(cd "$E2E_DIR/.." && pwd)

# ---- the device server -----------------------------------------------------------------------
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$REPO/target}
(cd "$REPO" && "${NICE[@]}" cargo build -q --release -p cloudnic-emu) || die "cargo build -p cloudnic-emu failed"
EMU=$CARGO_TARGET_DIR/release/cloudnic-emu
step build-emu

# ---- initramfs: cached userland + this tree's guest init ------------------------------------------
W=$E2E_OUT/$DRIVER-$DEVICE
rm -rf "$W" && mkdir -p "$W"
cp -a "$GUEST_ROOTFS" "$W/rootfs"
install -m 755 "$E2E_DIR/guest/init" "$W/rootfs/init"
install -m 644 "$E2E_DIR"/guest/*.sh "$W/rootfs/"
mkdir -p "$W/rootfs/proc" "$W/rootfs/sys" "$W/rootfs/dev"
# cpio from the chroot's static busybox (runs on the host; no host package needed).
(cd "$W/rootfs" && find . | "$ROOT/usr/bin/busybox" cpio -o -H newc 2>/dev/null | gzip -1 >"$W/initramfs.cpio.gz")
rm -rf "$W/rootfs"
step initramfs

# ---- run: server first (QEMU connects during realize), then the guest ---------------------------
mkfifo "$W/guest.in" "$W/guest.out"
EMU_ARGS=(serve "--$DEVICE" "$W/${DEVICE}0.sock" "--$DEVICE" "$W/${DEVICE}1.sock" --control "$W/control.sock"
  --guest-pipe "$W/guest" --once)
[ "${E2E_EMU_VERBOSE:-0}" = 1 ] && EMU_ARGS+=(--verbose)
"$EMU" "${EMU_ARGS[@]}" >"$W/emu-final.txt" 2>"$W/emu.log" &
EMU_PID=$!
cleanup() {
  kill "$EMU_PID" 2>/dev/null || true
  [ -n "${QEMU_PID:-}" ] && kill "$QEMU_PID" 2>/dev/null || true
}
trap cleanup EXIT
for _ in $(seq 100); do [ -S "$W/${DEVICE}1.sock" ] && [ -S "$W/control.sock" ] && break; sleep 0.05; done
[ -S "$W/${DEVICE}1.sock" ] || { cat "$W/emu.log"; die "cloudnic-emu did not start"; }

dev_json() { # dev_json N: root port N with device N-1 behind it
  printf '{"driver":"vfio-user-pci","socket":{"type":"unix","path":"%s"},"bus":"rp%s"}' "$W/$DEVICE$(($1 - 1)).sock" "$1"
}
SMP=${E2E_SMP:-2}
T_QEMU=$(date +%s.%N)
qemu_sid -accel tcg -cpu max -smp "$SMP" -m 512 \
  -object memory-backend-memfd,id=mem,size=512M,share=on -machine q35,memory-backend=mem \
  -nographic -no-reboot -nodefaults -nic none \
  -kernel "$VMLINUZ" -initrd "$W/initramfs.cpio.gz" \
  -append "console=ttyS0 panic=-1 loglevel=4 e2e.driver=$DRIVER e2e.device=$DEVICE e2e.bulk_mb=${E2E_BULK_MB:-64} e2e.phases=${E2E_PHASES:-all}" \
  -serial stdio -chardev "pipe,id=hostctl,path=$W/guest" -serial chardev:hostctl \
  -device pcie-root-port,id=rp1,bus=pcie.0,chassis=1,slot=1 -device "$(dev_json 1)" \
  -device pcie-root-port,id=rp2,bus=pcie.0,chassis=2,slot=2 -device "$(dev_json 2)" \
  </dev/null >"$W/console.log" 2>"$W/qemu.log" &
QEMU_PID=$!
rc=0
timeout "${E2E_TIMEOUT:-900}" tail --pid="$QEMU_PID" -f /dev/null || rc=$?
if [ "$rc" = 124 ]; then kill "$QEMU_PID" 2>/dev/null || true; fi
wait "$QEMU_PID" 2>/dev/null || true
QEMU_PID=
T_END=$(date +%s.%N)
for _ in $(seq 100); do kill -0 "$EMU_PID" 2>/dev/null || break; sleep 0.1; done
kill "$EMU_PID" 2>/dev/null || true
wait "$EMU_PID" 2>/dev/null || true
tr -d '\r' <"$W/console.log" >"$W/console.txt"
step "qemu-run ($DRIVER, $DEVICE)"

# ---- report --------------------------------------------------------------------------------
grep -o 'E2E check .*' "$W/console.txt" | sed 's/^E2E check /  /' || true
metric() { grep -o "E2E metric .*" "$W/console.txt" | tr ' ' '\n' | sed -n "s/^$1=//p" | tail -n 1; }
rate() { grep -o "E2E rate $1 .*" "$W/console.txt" | tr ' ' '\n' | sed -n "s/^$2=//p" | tail -n 1; }
BULK_S=$(metric bulk_s)
{
  echo "| driver | device | boot→link (guest uptime) | insmod→link | ping RTT fwd / rev | bulk | packets | MMIO writes /1000 pkts | MMIO reads /1000 | readless reads /1000 | interrupts /1000 | TX doorbells /1000 | all doorbells /1000 |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
  for d in "${DEVICE}0" "${DEVICE}1"; do
    echo "| $DRIVER | $d | $(metric boot_to_link_s) s | $(metric insmod_to_link_s) s | $(metric ping_rtt_ms_fwd) / $(metric ping_rtt_ms_rev) ms | $(metric bulk_mbit_s) Mbit/s ($(metric bulk_bytes) B in ${BULK_S} s) | $(rate $d packets) | $(rate $d mmio_writes_per_1000) | $(rate $d mmio_reads_per_1000) | $(rate $d readless_reads_per_1000) | $(rate $d interrupts_per_1000) | $(rate $d tx_doorbells_per_1000) | $(rate $d doorbells_per_1000) |"
  done
} >"$W/results.md"
echo
cat "$W/results.md"
printf 'QEMU wall time: %.1f s (%s, -smp %s)\n' "$(awk "BEGIN{print $T_END - $T_QEMU}")" "$QEMU_VERSION" "$SMP"
echo "logs: $W/{console.txt,emu.log,emu-final.txt,qemu.log,results.md}"
if ! grep -q '^E2E RESULT PASS' "$W/console.txt" && ! grep -q 'E2E RESULT PASS' "$W/console.txt"; then
  echo "---- console (tail) ----"; tail -n 80 "$W/console.txt"
  echo "---- emu.log (tail) ----"; tail -n 30 "$W/emu.log"
  echo "---- qemu.log ----"; cat "$W/qemu.log"
  [ "$rc" = 124 ] && die "guest timed out after ${E2E_TIMEOUT:-900} s"
  die "e2e ($DRIVER, $DEVICE) FAILED"
fi
echo "e2e ($DRIVER, $DEVICE): PASS"
