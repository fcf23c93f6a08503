# shellcheck shell=bash disable=SC2034
# Shared helpers for the e2e scripts (env.sh, run.sh, ci.sh). Sourced, not run.
# Builds on linux/lib.sh: the same cache root, Debian sid chroot, lock, mounts and `step`
# timer. The e2e's own cache lives in $CLOUDNIC_CACHE/e2e (default ~/.cache/cloudnic/e2e):
#
#   guest/<key>/rootfs/   guest userland: busybox-static, iproute2, ethtool (+ their
#                         shared libraries), the upstream ena.ko of the booted kernel
#   guest/<key>/.ok       stamp; key = kernel release + package versions of the above
#   current.env           what env.sh resolved (QEMU path, rootfs dir) for run.sh
#   out/                  per-run products: console logs, emu log, results
E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$E2E_DIR/../linux/lib.sh"
E2E_CACHE=$CACHE_ROOT/e2e
E2E_OUT=$E2E_CACHE/out
# run_name DRIVER DEVICE: the run's directory under out/ (and its name in compare.sh):
# ENA runs are named by driver alone ("upstream", "cloudnic"), others "<driver>-<device>".
run_name() { if [ "$2" = ena ]; then echo "$1"; else echo "$1-$2"; fi; }

# QEMU from the sid chroot, run through the chroot's dynamic loader: no chroot(2), no mounts
# (the bookworm host's QEMU 7.2 has no vfio-user-pci; sid's glibc is newer than the
# host's, so the binary needs sid's loader and libraries; vfio-user.md §1).
qemu_sid() {
  QEMU_MODULE_DIR=$ROOT/usr/lib/x86_64-linux-gnu/qemu \
    "$ROOT/lib64/ld-linux-x86-64.so.2" \
    --library-path "$ROOT/usr/lib/x86_64-linux-gnu:$ROOT/lib/x86_64-linux-gnu" \
    "$ROOT/usr/bin/qemu-system-x86_64" -L "$ROOT/usr/share/qemu" -L "$ROOT/usr/share/seabios" "$@"
}

load_e2e_env() {
  [ -f "$E2E_CACHE/current.env" ] || die "no $E2E_CACHE/current.env: run e2e/env.sh first"
  # shellcheck source=/dev/null
  . "$E2E_CACHE/current.env"
}
