#!/usr/bin/env bash
# The e2e in one command for CI: environment (cached), the cloudnic-emu build, and the QEMU
# run for every lane the e2e supports today (upstream ena.ko; upstream mana.ko). Prints per-step timings,
# the checks and the measurement table; exits non-zero on any failed check.
#   bash e2e/ci.sh
# From nothing ~6-7 min (linux/env.sh's sid chroot + kernel ~3.5 min, QEMU/iproute2/ethtool
# packages ~1 min, the vfio-user crates ~1 min, runs ~1 + ~1.5 min); from cache ~2.5 min.
set -euo pipefail
E2E_DIR=$(cd "$(dirname "$0")" && pwd)
T0=$(date +%s.%N)
export T0
bash "$E2E_DIR/env.sh"
for lane in upstream:ena upstream:mana; do
  E2E_SKIP_ENV=1 bash "$E2E_DIR/run.sh" --driver "${lane%%:*}" --device "${lane#*:}"
done
printf 'e2e pipeline: OK in %.1fs\n' "$(awk "BEGIN{print $(date +%s.%N) - $T0}")"
