#!/usr/bin/env bash
# The e2e in one command for CI: environment (cached), then the same checks with the upstream
# ena.ko and with our cloudnic.ko (built by linux/build.sh), one side-by-side table
# (e2e/compare.sh; also ~/.cache/cloudnic/e2e/out/side-by-side.md); then upstream mana.ko on the
# MANA model. Prints per-step timings.
#   bash e2e/ci.sh
# Fails if upstream fails any check (the e2e or the model is broken), and if cloudnic does,
# unless E2E_CLOUDNIC_ALLOW_FAIL=1 (for bisecting a model change without a working module).
# From nothing ~7-8 min (linux/env.sh's sid chroot + kernel ~3.5 min, QEMU/iproute2/ethtool
# packages ~1 min, the vfio-user crates ~1 min, the runs ~2.5 min each); from cache ~5 min.
set -euo pipefail
E2E_DIR=$(cd "$(dirname "$0")" && pwd)
T0=$(date +%s.%N)
export T0
bash "$E2E_DIR/env.sh"
E2E_SKIP_ENV=1 bash "$E2E_DIR/run.sh" --driver both --device ena
E2E_SKIP_ENV=1 bash "$E2E_DIR/run.sh" --driver upstream --device mana
printf 'e2e pipeline: OK in %.1fs\n' "$(awk "BEGIN{print $(date +%s.%N) - $T0}")"
