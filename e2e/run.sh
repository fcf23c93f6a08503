#!/usr/bin/env bash
# The cloudnic e2e in one command:
#   bash e2e/run.sh --driver upstream|cloudnic|both [--device ena|mana]
# Boots Debian's cloud kernel (the vmlinuz linux/env.sh resolved) under QEMU TCG with two
# ENA NICs served by cloudnic-emu over vfio-user and cabled back to back, loads the driver
# under test (upstream: the unmodified ena.ko of the same kernel package; cloudnic: our
# cloudnic.ko from linux/build.sh), and runs e2e/guest/init: link, ping both ways, a
# checksummed bulk transfer, ethtool, MTU/channels/rings changed under traffic, link flap,
# keep-alive loss -> watchdog reset -> traffic resumes, more device faults, rmmod under
# traffic with the model's ledgers checked, re-probe. The checks are the same for every
# driver; only the few expectations that legitimately differ are variables below.
# `--driver both` runs upstream then cloudnic and prints one side-by-side table
# (e2e/compare.sh; also written to ~/.cache/cloudnic/e2e/out/side-by-side.md). It fails if
# upstream fails a check, or cloudnic does (unless E2E_CLOUDNIC_ALLOW_FAIL=1).
# Environment: E2E_TIMEOUT (s, default 600), E2E_SMP (guest vCPUs, default 2),
# E2E_BULK_MB (default 64), E2E_PHASES (default all; a comma list of
# ethtool,traffic,reconfig,flap,keepalive,faults,rmmod), E2E_EMU_VERBOSE=1 (log every
# vfio-user message), E2E_CLOUDNIC_KO (use this cloudnic.ko instead of running linux/build.sh),
# E2E_CLOUDNIC_ALLOW_FAIL=1 (--driver both: cloudnic's failed checks do not fail the run).
set -euo pipefail
E2E_DIR=$(cd "$(dirname "$0")" && pwd)
DRIVER=upstream
DEVICE=ena
usage() { echo "usage: $0 [--driver upstream|cloudnic|both] [--device ena|mana]" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --driver) DRIVER=${2:?--driver needs a value}; shift 2 ;;
    --device) DEVICE=${2:?--device needs a value}; shift 2 ;;
    *) usage ;;
  esac
done

# ---- the device under test: everything device-specific is here --------------------------------
case "$DEVICE" in
  ena)
    DEVICE_NAMES=(ena0 ena1)  # cloudnic-emu names (hostctl DEV) of the NICs on root ports 1, 2
    EMU_DEVICE_OPT=--ena      # cloudnic-emu serve option, one per device socket
    UPSTREAM_KO=ena.ko        # in the guest rootfs /lib/modules (e2e/env.sh)
    UPSTREAM_MODULE=ena       # its module name (rmmod) = its `ethtool -i` driver name
    # Log lines a keep-alive loss must produce; AWS's wording, cloudnic prints the same.
    LOG_WATCHDOG='Keep alive watchdog timeout'
    LOG_RESET_DONE='Device reset completed successfully'
    ;;
  mana)
    DEVICE_NAMES=(mana0 mana1)
    EMU_DEVICE_OPT=--mana
    UPSTREAM_KO=mana.ko
    UPSTREAM_MODULE=mana
    # MANA has no keep-alive; its recovery phases live in guest/mana-checks.sh.
    LOG_WATCHDOG=''
    LOG_RESET_DONE='MANA reset cycle completed'
    ;;
  *) echo "device '$DEVICE' is not supported (ena, mana)" >&2; exit 2 ;;
esac

if [ "$DEVICE" = mana ] && [ "$DRIVER" != upstream ]; then
  echo "cloudnic.ko does not drive MANA yet: --device mana runs with --driver upstream only" >&2
  exit 2
fi

# ---- both drivers, one table ------------------------------------------------------------------
if [ "$DRIVER" = both ]; then
  [ "${E2E_SKIP_ENV:-0}" = 1 ] || bash "$E2E_DIR/env.sh"
  rc_upstream=0
  E2E_SKIP_ENV=1 bash "$0" --driver upstream --device "$DEVICE" || rc_upstream=$?
  rc_cloudnic=0
  E2E_SKIP_ENV=1 bash "$0" --driver cloudnic --device "$DEVICE" || rc_cloudnic=$?
  echo
  bash "$E2E_DIR/compare.sh" upstream cloudnic
  [ "$rc_upstream" = 0 ] || { echo "e2e: upstream FAILED (a check of the unmodified driver failed: see above)" >&2; exit 1; }
  if [ "$rc_cloudnic" != 0 ]; then
    if [ "${E2E_CLOUDNIC_ALLOW_FAIL:-0}" = 1 ]; then
      echo "e2e: cloudnic FAILED, allowed by E2E_CLOUDNIC_ALLOW_FAIL=1"
    else
      echo "e2e: cloudnic FAILED" >&2
      exit 1
    fi
  fi
  echo "e2e (both): upstream PASS, cloudnic $([ "$rc_cloudnic" = 0 ] && echo PASS || echo FAIL)"
  exit 0
fi

[ "${E2E_SKIP_ENV:-0}" = 1 ] || bash "$E2E_DIR/env.sh"
. "$E2E_DIR/lib.sh"
load_current_env
load_e2e_env
REPO=$(cd "$E2E_DIR/.." && pwd)
W=$E2E_OUT/$(run_name "$DRIVER" "$DEVICE")
rm -rf "$W" && mkdir -p "$W"
# run.env: how the run ended, for compare.sh (overwritten when it gets further).
echo "RESULT=NOT-RUN" >"$W/run.env"

# ---- the driver under test -------------------------------------------------------------------
case "$DRIVER" in
  upstream)
    DRIVER_KO=$UPSTREAM_KO
    DRIVER_MODULE=$UPSTREAM_MODULE
    DRIVER_NAME=$UPSTREAM_MODULE
    ;;
  cloudnic)
    DRIVER_KO=cloudnic.ko
    DRIVER_MODULE=cloudnic
    DRIVER_NAME=cloudnic
    # linux/build.sh is incremental (2-5 s when nothing changed); E2E_CLOUDNIC_KO skips it.
    # Same flags as linux/ci.sh, so after it this is a no-op rather than a rebuild of its
    # objects with other flags.
    KO=${E2E_CLOUDNIC_KO:-}
    if [ -z "$KO" ]; then
      if ! CLOUDNIC_CLIPPY=${CLOUDNIC_CLIPPY:-1} CLOUDNIC_KERNEL_WERROR=${CLOUDNIC_KERNEL_WERROR:-1} \
        bash "$REPO/linux/build.sh" >"$W/build.log" 2>&1; then
        tail -n 40 "$W/build.log"
        echo "RESULT=BUILD-FAILED" >"$W/run.env"
        die "linux/build.sh failed (log: $W/build.log)"
      fi
      tail -n 1 "$W/build.log"
      KO=$CACHE/out/cloudnic.ko
    fi
    [ -f "$KO" ] || die "no $KO"
    # Our own copy right away: linux/build.sh's output is shared with other pipelines.
    strip --strip-debug -o "$W/cloudnic.ko" "$KO" 2>/dev/null || cp "$KO" "$W/cloudnic.ko"
    step build-cloudnic-ko
    ;;
  *) echo "unknown driver '$DRIVER' (upstream, cloudnic or both)" >&2; exit 2 ;;
esac

# ---- the device server -----------------------------------------------------------------------
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$REPO/target}
(cd "$REPO" && "${NICE[@]}" cargo build -q --release -p cloudnic-emu) || die "cargo build -p cloudnic-emu failed"
EMU=$CARGO_TARGET_DIR/release/cloudnic-emu
step build-emu

# ---- initramfs: cached userland + the driver + this tree's guest scripts -------------------------
cp -a "$GUEST_ROOTFS" "$W/rootfs"
install -m 755 "$E2E_DIR/guest/init" "$W/rootfs/init"
install -m 644 "$E2E_DIR/guest/rmmod.sh" "$W/rootfs/e2e-rmmod.sh"
install -m 644 "$E2E_DIR/guest/mana-checks.sh" "$W/rootfs/mana-checks.sh"
[ "$DRIVER" = cloudnic ] && install -m 644 "$W/cloudnic.ko" "$W/rootfs/lib/modules/cloudnic.ko"
[ -f "$W/rootfs/lib/modules/$DRIVER_KO" ] || die "no $DRIVER_KO in the guest rootfs"
cat >"$W/rootfs/etc/e2e.conf" <<CONF
DRIVER='$DRIVER'
DEVICE='$DEVICE'
UPSTREAM_MODULE='$UPSTREAM_MODULE'
DRIVER_KO='$DRIVER_KO'
DRIVER_MODULE='$DRIVER_MODULE'
DRIVER_NAME='$DRIVER_NAME'
DEV0='${DEVICE_NAMES[0]}'
DEV1='${DEVICE_NAMES[1]}'
LOG_WATCHDOG='$LOG_WATCHDOG'
LOG_RESET_DONE='$LOG_RESET_DONE'
CONF
mkdir -p "$W/rootfs/proc" "$W/rootfs/sys" "$W/rootfs/dev"
# cpio from the chroot's static busybox (runs on the host; no host package needed).
(cd "$W/rootfs" && find . | "$ROOT/usr/bin/busybox" cpio -o -H newc 2>/dev/null | gzip -1 >"$W/initramfs.cpio.gz")
rm -rf "$W/rootfs"
step initramfs

# ---- run: server first (QEMU connects during realize), then the guest ---------------------------
mkfifo "$W/guest.in" "$W/guest.out"
EMU_ARGS=(serve --control "$W/control.sock" --guest-pipe "$W/guest" --once)
for d in "${DEVICE_NAMES[@]}"; do EMU_ARGS+=("$EMU_DEVICE_OPT" "$W/$d.sock"); done
[ "${E2E_EMU_VERBOSE:-0}" = 1 ] && EMU_ARGS+=(--verbose)
"$EMU" "${EMU_ARGS[@]}" >"$W/emu-final.txt" 2>"$W/emu.log" &
EMU_PID=$!
cleanup() {
  kill "$EMU_PID" 2>/dev/null || true
  [ -n "${QEMU_PID:-}" ] && kill "$QEMU_PID" 2>/dev/null || true
}
trap cleanup EXIT
LAST_SOCK=$W/${DEVICE_NAMES[-1]}.sock
for _ in $(seq 100); do [ -S "$LAST_SOCK" ] && [ -S "$W/control.sock" ] && break; sleep 0.05; done
[ -S "$LAST_SOCK" ] || { cat "$W/emu.log"; die "cloudnic-emu did not start"; }

dev_json() { # dev_json N: root port N with device N-1 behind it
  printf '{"driver":"vfio-user-pci","socket":{"type":"unix","path":"%s"},"bus":"rp%s"}' \
    "$W/${DEVICE_NAMES[$(($1 - 1))]}.sock" "$1"
}
SMP=${E2E_SMP:-2}
T_QEMU=$(date +%s.%N)
qemu_sid -accel tcg -cpu max -smp "$SMP" -m 512 \
  -object memory-backend-memfd,id=mem,size=512M,share=on -machine q35,memory-backend=mem \
  -nographic -no-reboot -nodefaults -nic none \
  -kernel "$VMLINUZ" -initrd "$W/initramfs.cpio.gz" \
  -append "console=ttyS0 panic=-1 softlockup_panic=1 hung_task_panic=1 loglevel=4 e2e.driver=$DRIVER e2e.device=$DEVICE e2e.bulk_mb=${E2E_BULK_MB:-64} e2e.phases=${E2E_PHASES:-all}" \
  -serial stdio -chardev "pipe,id=hostctl,path=$W/guest" -serial chardev:hostctl \
  -device pcie-root-port,id=rp1,bus=pcie.0,chassis=1,slot=1 -device "$(dev_json 1)" \
  -device pcie-root-port,id=rp2,bus=pcie.0,chassis=2,slot=2 -device "$(dev_json 2)" \
  </dev/null >"$W/console.log" 2>"$W/qemu.log" &
QEMU_PID=$!
rc=0
timeout "${E2E_TIMEOUT:-600}" tail --pid="$QEMU_PID" -f /dev/null || rc=$?
if [ "$rc" = 124 ]; then kill "$QEMU_PID" 2>/dev/null || true; fi
wait "$QEMU_PID" 2>/dev/null || true
QEMU_PID=
T_END=$(date +%s.%N)
for _ in $(seq 100); do kill -0 "$EMU_PID" 2>/dev/null || break; sleep 0.1; done
kill "$EMU_PID" 2>/dev/null || true
wait "$EMU_PID" 2>/dev/null || true
tr -d '\r' <"$W/console.log" >"$W/console.txt"
step "qemu-run ($DRIVER)"

# ---- report --------------------------------------------------------------------------------
WALL=$(awk "BEGIN{printf \"%.1f\", $T_END - $T_QEMU}")
RESULT=FAIL
grep -q 'E2E RESULT PASS' "$W/console.txt" && RESULT=PASS
[ "$rc" = 124 ] && RESULT=TIMEOUT
grep -q 'E2E RESULT' "$W/console.txt" || [ "$RESULT" = TIMEOUT ] || RESULT=CRASH
printf 'RESULT=%s\nWALL_S=%s\nSMP=%s\n' "$RESULT" "$WALL" "$SMP" >"$W/run.env"
grep -o 'E2E check .*' "$W/console.txt" | sed 's/^E2E check /  /' || true
grep -o 'E2E info .*' "$W/console.txt" | sed 's/^E2E /  /' || true
bash "$E2E_DIR/compare.sh" --per-device "$(run_name "$DRIVER" "$DEVICE")" >"$W/results.md"
echo
cat "$W/results.md"
echo "QEMU wall time: $WALL s ($QEMU_VERSION, -smp $SMP)"
echo "logs: $W/{console.txt,emu.log,emu-final.txt,qemu.log,results.md}"
if [ "$RESULT" != PASS ]; then
  echo "---- console (tail) ----"; tail -n 80 "$W/console.txt"
  echo "---- emu.log (tail) ----"; tail -n 30 "$W/emu.log"
  echo "---- qemu.log ----"; cat "$W/qemu.log"
  [ "$RESULT" = TIMEOUT ] && die "guest timed out after ${E2E_TIMEOUT:-600} s"
  die "e2e ($DRIVER) FAILED ($RESULT)"
fi
echo "e2e ($DRIVER): PASS"
