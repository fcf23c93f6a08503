#!/usr/bin/env bash
# Create or refresh, idempotently, what the e2e run needs beyond linux/env.sh:
#   1. linux/env.sh: the sid chroot, the current Debian cloud kernel (vmlinuz), resolved
#      through the metapackages (cached; ~1 s when nothing changed)
#   2. in that chroot: qemu-system-x86 (sid's QEMU has vfio-user-pci), iproute2, ethtool
#   3. the guest userland tree, keyed on kernel release + package versions: static busybox,
#      ip + ethtool with their shared libraries, and the unmodified upstream ena.ko and
#      mana.ko (+ the modules they depend on, per modules.dep) from the kernel's own
#      modules package (decompressed: busybox insmod takes no .ko.xz)
# Writes $CLOUDNIC_CACHE/e2e/current.env for run.sh.
set -euo pipefail
E2E_DIR=$(cd "$(dirname "$0")" && pwd)
bash "$E2E_DIR/../linux/env.sh"
. "$E2E_DIR/lib.sh"
take_lock
trap umount_all EXIT
load_current_env
mount_chroot

# ---- 2. packages in the chroot ---------------------------------------------------------------
E2E_PKGS=(qemu-system-x86 iproute2 ethtool busybox-static xz-utils)
missing=()
for p in "${E2E_PKGS[@]}"; do
  IN "dpkg-query -W -f='\${Status}' '$p' 2>/dev/null" | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "chroot: apt-get install ${missing[*]}"
  mkdir -p "$E2E_CACHE"
  IN "nice -n 10 apt-get install -y -q ${missing[*]}" >"$E2E_CACHE/apt-install.log" 2>&1 ||
    { tail -n 30 "$E2E_CACHE/apt-install.log"; die "apt-get install ${missing[*]} in the chroot failed (log: $E2E_CACHE/apt-install.log)"; }
  grep -E '^(Need to get|Fetched)' "$E2E_CACHE/apt-install.log" || true
  IN apt-get clean
  step e2e-apt-install
fi
qemu_sid -device vfio-user-pci,help >/dev/null 2>&1 ||
  die "the chroot's qemu-system-x86_64 has no vfio-user-pci device (need QEMU >= 10; see shared/reference/vfio-user.md)"
QEMU_VERSION=$(qemu_sid -version | head -n 1)

# ---- 3. guest userland --------------------------------------------------------------------------
ver() { IN "dpkg-query -W -f='\${Version}' '$1'"; }
MOD_PKG=linux-modules-$KREL
GKEY="v3_${KREL}_${KPKG_VER}_bb-$(ver busybox-static)_ip-$(ver iproute2)_ethtool-$(ver ethtool)"
GDIR=$E2E_CACHE/guest/$GKEY
if [ ! -f "$GDIR/.ok" ]; then
  rm -rf "$GDIR" && mkdir -p "$GDIR/rootfs"
  G=$GDIR/rootfs
  # The upstream ena.ko: from the kernel's modules package (7.2 splits the image; older
  # layouts ship modules in linux-image-<release> itself).
  IN "mkdir -p /cloudnic/e2e-debs && cd /cloudnic/e2e-debs && rm -f *.deb && \
      (apt-get download -q $MOD_PKG || apt-get download -q linux-image-$KREL)" \
    >"$E2E_CACHE/modules-download.log" 2>&1 ||
    { tail -n 20 "$E2E_CACHE/modules-download.log"; die "could not download $MOD_PKG (needed for the upstream ena.ko and mana.ko)"; }
  mkdir -p "$GDIR/x"
  for d in "$ROOT"/cloudnic/e2e-debs/*.deb; do dpkg-deb -x "$d" "$GDIR/x"; done
  rm -rf "$ROOT/cloudnic/e2e-debs"
  # The modules under test and every module they depend on (the `depends=` field of each
  # module's .modinfo; Debian ships no modules.dep, depmod makes it at install time):
  # /lib/modules/<name>.ko, plus <name>.deps naming the dependencies in load order.
  mkdir -p "$G/lib/modules"
  put_mod() { # put_mod NAME: decompress NAME.ko into the guest tree (busybox insmod takes no .ko.xz)
    local ko
    ko=$(find "$GDIR/x" -name "$1.ko*" | head -n 1)
    [ -z "$ko" ] && ko=$(find "$GDIR/x" -name "$(echo "$1" | tr _ -).ko*" | head -n 1)
    [ -n "$ko" ] || die "no $1.ko in $MOD_PKG"
    case "$ko" in
      *.xz) xz -dc "$ko" >"$G/lib/modules/$1.ko" ;;
      *.zst) zstd -qdc "$ko" >"$G/lib/modules/$1.ko" ;;
      *) cp "$ko" "$G/lib/modules/$1.ko" ;;
    esac
  }
  mod_deps() { tr '\0' '\n' <"$G/lib/modules/$1.ko" | sed -n 's/^depends=//p' | tr ',' ' '; }
  load_order() { # load_order NAME: its dependencies, deepest first, then NAME
    local d
    put_mod "$1"
    for d in $(mod_deps "$1"); do load_order "$d"; done
    echo "$1"
  }
  for m in ena mana; do
    load_order "$m" | awk '!seen[$0]++' | grep -vx "$m" >"$G/lib/modules/$m.deps" || true
  done
  rm -rf "$GDIR/x"
  # Userland: static busybox; ip and ethtool with exactly the libraries ldd names, in
  # /usr/sbin (first in the guest's PATH) so busybox's own `ip` applet cannot shadow them.
  mkdir -p "$G/bin" "$G/usr/sbin" "$G/usr/lib/x86_64-linux-gnu" "$G/lib64" "$G/etc" "$G/usr/share"
  cp "$ROOT/usr/bin/busybox" "$G/bin/busybox"
  for b in ip ethtool; do
    path=$(IN "command -v $b") || die "$b not found in the chroot"
    cp -L "$ROOT$path" "$G/usr/sbin/$b"
    IN "ldd $path" | awk '/=>/ {print $3} /ld-linux/ {print $1}' | while read -r lib; do
      [ -n "$lib" ] || continue
      case "$lib" in
        */ld-linux*) cp -L "$ROOT$lib" "$G/lib64/$(basename "$lib")" ;;
        *) cp -L "$ROOT$lib" "$G/usr/lib/x86_64-linux-gnu/$(basename "$lib")" ;;
      esac
    done
  done
  [ -d "$ROOT/usr/share/iproute2" ] && cp -r "$ROOT/usr/share/iproute2" "$G/usr/share/"
  [ -d "$ROOT/etc/iproute2" ] && cp -r "$ROOT/etc/iproute2" "$G/etc/"
  touch "$GDIR/.ok"
  echo "guest userland: $(du -sh "$GDIR/rootfs" | cut -f1) in $GDIR"
  step e2e-guest-userland
fi

cat >"$E2E_CACHE/current.env" <<ENV
# Written by e2e/env.sh on $(date -u +%FT%TZ)
GUEST_ROOTFS='$GDIR/rootfs'
GUEST_KEY='$GKEY'
QEMU_VERSION='$QEMU_VERSION'
ENV
echo "e2e env: ready: $QEMU_VERSION; guest userland $GKEY"
