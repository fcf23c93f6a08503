# shellcheck shell=bash disable=SC2034
# Shared helpers for the Linux module pipeline (env.sh, build.sh, vm-test.sh).
# Sourced, not run. Everything heavy lives outside the repository under
# $CLOUDNIC_CACHE (default ~/.cache/cloudnic), in linux/:
#
#   chroot/                 Debian sid chroot (Debian's rustc, gcc, kernel headers + image)
#   overlays/<key>.tar.zst  the kernel's regenerated Rust artifacts (rust/*.rmeta, *.so,
#                           scripts/target.json), key = kernel package version + rustc version
#   vendor/<key>/           `cargo vendor --versioned-dirs` output for the crates.io crates
#                           the module links (bitflags), key = their locked versions
#   current.env             what env.sh resolved (kernel release, versions, overlay key)
#   out/                    build products: cloudnic.ko, logs, initramfs

LINUX_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$LINUX_DIR/.." && pwd)
CACHE_ROOT=${CLOUDNIC_CACHE:-$HOME/.cache/cloudnic}
CACHE=$CACHE_ROOT/linux
ROOT=$CACHE/chroot
OUT=$CACHE/out
MIRROR=${CLOUDNIC_DEBIAN_MIRROR:-http://deb.debian.org/debian}
# Everything CPU-heavy runs niced: the 2-core machine is shared.
NICE=(nice -n 10)

die() {
  printf '\nERROR: %s\n' "$*" >&2
  exit 1
}

T0=${T0:-$(date +%s.%N)}
T_LAST=$(date +%s.%N)
# step NAME: print how long the step since the previous `step` call took.
step() {
  local now
  now=$(date +%s.%N)
  printf 'TIMING %-34s %7.1fs (total %7.1fs)\n' "$1" \
    "$(awk "BEGIN{print $now - $T_LAST}")" "$(awk "BEGIN{print $now - $T0}")"
  T_LAST=$now
}

# Run a command line inside the chroot with a clean environment.
IN() {
  chroot "$ROOT" /usr/bin/env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
    DEBIAN_FRONTEND=noninteractive bash -c "$*"
}

# ---- mounts -------------------------------------------------------------------------------
# The chroot gets a fresh /proc and a private tmpfs /dev with just the device nodes a build
# needs. Nothing of the host's /dev is bind-mounted, so deleting or unmounting the chroot can
# never touch the host's device nodes (linux-kernel-build.md pitfall 7).
MOUNTED=()
mount_chroot() {
  mountpoint -q "$ROOT/proc" || { mount -t proc proc "$ROOT/proc"; MOUNTED+=("$ROOT/proc"); }
  if ! mountpoint -q "$ROOT/dev"; then
    mount -t tmpfs -o mode=755,size=16m cloudnic-dev "$ROOT/dev"
    MOUNTED+=("$ROOT/dev")
    local n
    for n in "null 1 3" "zero 1 5" "full 1 7" "random 1 8" "urandom 1 9" "tty 5 0"; do
      set -- $n
      mknod -m 666 "$ROOT/dev/$1" c "$2" "$3"
    done
    mkdir -p "$ROOT/dev/pts" "$ROOT/dev/shm"
    ln -s /proc/self/fd "$ROOT/dev/fd"
    ln -s /proc/self/fd/0 "$ROOT/dev/stdin"
    ln -s /proc/self/fd/1 "$ROOT/dev/stdout"
    ln -s /proc/self/fd/2 "$ROOT/dev/stderr"
  fi
}

# bind_ro SRC DST-inside-chroot: read-only bind mount, undone by umount_all.
bind_ro() {
  mkdir -p "$ROOT$2"
  if mountpoint -q "$ROOT$2"; then umount "$ROOT$2"; fi
  mount --bind "$1" "$ROOT$2"
  mount -o remount,bind,ro "$ROOT$2"
  MOUNTED+=("$ROOT$2")
}

umount_all() {
  local i
  for ((i = ${#MOUNTED[@]} - 1; i >= 0; i--)); do
    umount "${MOUNTED[i]}" 2>/dev/null || umount -l "${MOUNTED[i]}" 2>/dev/null || true
  done
  MOUNTED=()
}

# Refuse to delete a chroot that still has anything mounted below it.
safe_rm_chroot() {
  if awk -v r="$ROOT/" '$2 ~ "^"r {found=1} END{exit !found}' /proc/mounts; then
    die "refusing to delete $ROOT: something is still mounted below it (see /proc/mounts)"
  fi
  rm -rf --one-file-system "$ROOT"
}

# One pipeline at a time per cache (chroot, apt and the output dir are shared state).
take_lock() {
  mkdir -p "$CACHE"
  exec {LOCK_FD}>"$CACHE/lock"
  flock -w 3600 "$LOCK_FD" || die "could not lock $CACHE/lock"
}

load_current_env() {
  [ -f "$CACHE/current.env" ] || die "no $CACHE/current.env: run linux/env.sh first"
  # shellcheck source=/dev/null
  . "$CACHE/current.env"
}
