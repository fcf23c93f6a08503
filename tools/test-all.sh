#!/usr/bin/env bash
# Run every cloudnic check: format, lints, host tests (driver against the
# device models), the no_std build of the shared crates with only `core`, and
# the Linux module pipeline. This is what CI runs (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\n==> %s\n' "$*"; }
t0=$(date +%s)

step "rustfmt"
cargo fmt --all --check

step "clippy (-D warnings)"
cargo clippy --workspace --all-targets --quiet -- -D warnings

step "host tests"
cargo test --workspace --quiet 2>&1 | tee /tmp/cloudnic-test.log
grep -q '^test result: ok' /tmp/cloudnic-test.log

step "no_std build of the shared crates for x86_64-unknown-none (core only)"
bash tools/rust-src.sh
cargo +nightly build --quiet -Zbuild-std=core --target x86_64-unknown-none \
  -p cloudnic-common -p cloudnic-ena -p cloudnic-mana

step "Windows: NDIS miniport logic tests, cloudnic.sys build and PE checks"
bash windows/ci.sh

if [ -x linux/ci.sh ] && [ "${CLOUDNIC_SKIP_LINUX:-0}" != 1 ]; then
  step "Linux: kernel environment, cloudnic.ko build, load in Debian's kernel under QEMU"
  bash linux/ci.sh
fi

if [ -f e2e/ci.sh ] && [ "${CLOUDNIC_SKIP_LINUX:-0}" != 1 ]; then
  step "e2e: upstream ena.ko and cloudnic.ko side by side on the ENA model, upstream mana.ko on the MANA model (vfio-user, QEMU)"
  bash e2e/ci.sh
fi

step "all checks passed in $(( $(date +%s) - t0 )) s"
