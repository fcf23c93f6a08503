#!/usr/bin/env bash
# The Linux pipeline in one command (what CI runs): environment (cached), cloudnic.ko build,
# and the QEMU load test in Debian's real cloud kernel. Prints per-step timings.
#   bash linux/ci.sh
# ~4 min from nothing (sid chroot, packages, the kernel's Rust artifacts), ~25 s from cache.
# Caches live in ${CLOUDNIC_CACHE:-~/.cache/cloudnic}/linux; see linux/README.md.
set -euo pipefail
LINUX_DIR=$(cd "$(dirname "$0")" && pwd)
T0=$(date +%s.%N)
export T0
export CLOUDNIC_CLEAN=${CLOUDNIC_CLEAN:-1}
# The module builds through the kernel's clippy lints, and any rustc, clippy or objtool
# warning fails CI, as -D warnings does for the host crates.
export CLOUDNIC_CLIPPY=${CLOUDNIC_CLIPPY:-1}
export CLOUDNIC_KERNEL_WERROR=${CLOUDNIC_KERNEL_WERROR:-1}
phase() {
  local t rc=0
  t=$(date +%s.%N)
  echo "---- linux/$1"
  bash "$LINUX_DIR/$1" || rc=$?
  printf 'PHASE %-12s %6.1fs\n' "$1" "$(awk "BEGIN{print $(date +%s.%N) - $t}")"
  [ "$rc" = 0 ] || { echo "linux/$1 failed (rc=$rc)"; exit "$rc"; }
}
phase env.sh
phase build.sh
phase vm-test.sh
printf 'linux pipeline: OK in %.1fs\n' "$(awk "BEGIN{print $(date +%s.%N) - $T0}")"
