#!/usr/bin/env bash
# Build cloudnic.ko inside the chroot prepared by linux/env.sh, from the repository's own
# files (the same sources the host tests use), with the kernel's kbuild and Debian's rustc.
#
# The repository is bind-mounted read-only at /cloudnic/src and the vendored crates at
# /cloudnic/vendor; objects go to /cloudnic/out in the chroot (kbuild's MO=), so incremental
# rebuilds work and nothing is written into the work tree. Result: $CACHE/out/cloudnic.ko.
# Environment: CLOUDNIC_KERNEL_WERROR=1 fails the build on any rustc warning;
# CLOUDNIC_CLIPPY=1 compiles through clippy-driver with the kernel's clippy lints (kbuild's
# CLIPPY=1; needs Debian's rust-clippy, which env.sh installs);
# CLOUDNIC_CLEAN=1 starts from an empty object dir (linux/ci.sh does: every crate's warnings
# are shown, and nothing stale survives, e.g. a CARGO_PKG_VERSION change kbuild can't see).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
VENDOR_DIR=$(bash "$LINUX_DIR/vendor.sh")
take_lock
trap umount_all EXIT
load_current_env

[ "${CLOUDNIC_CLEAN:-0}" = 1 ] && rm -rf "$ROOT/cloudnic/out"
mkdir -p "$OUT" "$ROOT/cloudnic/out"
mount_chroot
bind_ro "$REPO" /cloudnic/src
bind_ro "$VENDOR_DIR" /cloudnic/vendor

LOG=$OUT/build.log
JOBS=$(nproc)
CLIPPY=
[ "${CLOUDNIC_CLIPPY:-0}" = 1 ] && CLIPPY=CLIPPY=1
if ! IN "nice -n 10 make -j$JOBS -C $KDIR M=/cloudnic/src/linux MO=/cloudnic/out \
      CLOUDNIC_VENDOR=/cloudnic/vendor $CLIPPY modules" >"$LOG" 2>&1; then
  grep -vE '^make(\[[0-9]+\])?: (Entering|Leaving)' "$LOG" | tail -n 80
  die "kernel module build failed (full log: $LOG)"
fi
grep -E '^\s+(RUSTC|CLIPPY|LD|BTF|MODPOST|CC)' "$LOG" || true
# rustc diagnostics from our crates (vendored crates are --cap-lints=allow), and objtool's
# (e.g. a function falling through into the next: a panic path the kernel cannot unwind).
if grep -qE '^(warning|error)|: warning: objtool:' "$LOG"; then
  echo "---- rustc/kbuild/objtool warnings (kernel flags) ----"
  grep -E -A6 '^warning|: warning: objtool:' "$LOG" | head -n 120
  if [ "${CLOUDNIC_KERNEL_WERROR:-0}" = 1 ]; then
    die "warnings in the kernel build (CLOUDNIC_KERNEL_WERROR=1)"
  fi
fi
cp "$ROOT/cloudnic/out/cloudnic.ko" "$OUT/cloudnic.ko"
IN "modinfo /cloudnic/out/cloudnic.ko" >"$OUT/modinfo.txt"
size=$(stat -c %s "$OUT/cloudnic.ko")
text=$(IN "size /cloudnic/out/cloudnic.ko" | awk 'NR==2 {print $1 " text, " $2 " data, " $3 " bss"}')
echo "built $OUT/cloudnic.ko: $size bytes on disk ($text)"
