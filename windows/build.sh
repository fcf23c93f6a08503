#!/usr/bin/env bash
# Build cloudnic.sys on Linux and check the PE image.
#
#   bash windows/build.sh            # build + checks; prints the artefact paths
#
# 1. `cargo +nightly rustc --crate-type staticlib -Zbuild-std=core` for
#    x86_64-pc-windows-gnu (panic = abort, no allocator, compiler-builtins'
#    mem functions instead of a CRT);
# 2. link with Debian's mingw-w64 binutils against mingw-w64's NDIS, kernel
#    and HAL import libraries (native subsystem, entry DriverEntry, base
#    relocations);
# 3. check the PE (windows/pe-check.sh): subsystem native, entry ==
#    DriverEntry, imports only from NDIS.SYS / ntoskrnl.exe / HAL.dll and
#    each present in those import libraries, no CRT, nothing unresolved,
#    relocations present, no writable+executable section.
#
# Outputs: $OUT_DIR/cloudnic.sys, cloudnic.map, cloudnic.inf (copied), in
# ${CLOUDNIC_WINDOWS_OUT:-$CARGO_TARGET_DIR/cloudnic-package}.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/tmp/target-windows}"
TARGET=x86_64-pc-windows-gnu
MINGW_LIB=/usr/x86_64-w64-mingw32/lib
OUT_DIR="${CLOUDNIC_WINDOWS_OUT:-$CARGO_TARGET_DIR/cloudnic-package}"

# Tools (idempotent): Debian's mingw-w64 binutils and import libraries.
need=()
command -v x86_64-w64-mingw32-ld >/dev/null || need+=(binutils-mingw-w64-x86-64)
[ -f "$MINGW_LIB/libndis.a" ] || need+=(mingw-w64-x86-64-dev)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
# The nightly's rust-src (Debian sid's package), for -Zbuild-std.
bash "$here/../tools/rust-src.sh"

nice cargo +nightly rustc --quiet --release --lib --crate-type staticlib \
  -Zbuild-std=core -Zbuild-std-features=compiler-builtins-mem --target "$TARGET"
LIB="$CARGO_TARGET_DIR/$TARGET/release/libcloudnic_windows.a"

mkdir -p "$OUT_DIR"
SYS="$OUT_DIR/cloudnic.sys"
x86_64-w64-mingw32-ld \
  --subsystem native --major-subsystem-version 6 --minor-subsystem-version 1 \
  --major-os-version 6 --minor-os-version 1 \
  --entry DriverEntry --image-base 0x140000000 \
  --enable-reloc-section --dynamicbase --high-entropy-va --nxcompat \
  --file-alignment 0x200 --section-alignment 0x1000 --no-insert-timestamp \
  --exclude-all-symbols --gc-sections --nostdlib --strip-debug \
  -Map "$OUT_DIR/cloudnic.map" -o "$SYS" \
  "$LIB" -L"$MINGW_LIB" -lndis -lntoskrnl -lhal
cp "$here/cloudnic.inf" "$OUT_DIR/cloudnic.inf"

bash "$here/pe-check.sh" "$SYS" "$MINGW_LIB"
echo "built $SYS ($(stat -c %s "$SYS") bytes) and $OUT_DIR/cloudnic.inf"
