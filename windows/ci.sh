#!/usr/bin/env bash
# Every Windows check that runs on Linux, in one command:
#
#   bash windows/ci.sh
#
# rustfmt; clippy on the host (ndis declarations + logic + tests) and for
# x86_64-pc-windows-gnu (adds the shim and the platform); host tests (logic
# on fake NDIS structures, INF lint); cloudnic.sys build and PE checks
# (build.sh); and a check that the PE checker rejects a bad image.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/tmp/target-windows}"
step() { printf '\n==> windows: %s\n' "$*"; }
t0=$(date +%s)

step "rustfmt"
cargo fmt --check

step "clippy, host (-D warnings)"
nice cargo clippy --quiet --all-targets -- -D warnings

step "host tests"
log="$CARGO_TARGET_DIR/windows-test.log"
mkdir -p "$CARGO_TARGET_DIR"
nice cargo test --quiet 2>&1 | tee "$log"
grep -q '^test result: ok' "$log"

step "cloudnic.sys: build, link, PE checks"
bash "$here/build.sh"

step "clippy, x86_64-pc-windows-gnu (shim + platform, -D warnings)"
nice cargo +nightly clippy --quiet -Zbuild-std=core --target x86_64-pc-windows-gnu -- -D warnings

step "the PE checker rejects a bad image"
bad="$(mktemp -d)"
trap 'rm -rf "$bad"' EXIT
printf '.globl DriverEntry\nDriverEntry:\n  call printf\n  ret\n' >"$bad/bad.s"
x86_64-w64-mingw32-as -o "$bad/bad.o" "$bad/bad.s"
x86_64-w64-mingw32-ld --subsystem windows --entry DriverEntry --nostdlib -o "$bad/bad.sys" "$bad/bad.o" \
  -L/usr/x86_64-w64-mingw32/lib -lmsvcrt
if bash "$here/pe-check.sh" "$bad/bad.sys" /usr/x86_64-w64-mingw32/lib >"$bad/out" 2>&1; then
  cat "$bad/out"
  echo "pe-check.sh accepted a user-mode image importing printf from msvcrt" >&2
  exit 1
fi
grep -q 'subsystem is not native' "$bad/out" && grep -q 'printf from msvcrt.dll' "$bad/out"
echo "  ok: rejected (subsystem, CRT import)"

step "all Windows checks passed in $(($(date +%s) - t0)) s"
