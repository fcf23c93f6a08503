#!/usr/bin/env bash
# Create or refresh, idempotently, the environment that builds cloudnic.ko for Debian's
# current cloud kernel (facts: shared/reference/linux-kernel-build.md):
#
#   1. host tools: debootstrap, qemu-system-x86 (TCG boot), zstd
#   2. a Debian sid chroot (sid packages do not install on the bookworm host)
#   3. the current linux-image-*-cloud-amd64 / linux-headers-*-cloud-amd64, resolved through
#      the metapackages (never hard-coded), plus Debian's rustc
#   4. the kernel's Rust artifacts (rust/*.rmeta, *.so, scripts/target.json), which Debian's
#      headers package lacks: regenerated once with `make modules_prepare` from linux-source
#      and Debian's config, cached as a tar.zst keyed on kernel package + rustc versions,
#      then unpacked into the headers package ("headers + overlay" route)
#
# Writes $CLOUDNIC_CACHE/linux/current.env for build.sh and vm-test.sh.
# Environment: CLOUDNIC_CACHE (default ~/.cache/cloudnic), CLOUDNIC_DEBIAN_MIRROR,
# CLOUDNIC_APT_MAX_AGE (seconds before the chroot's package lists are refreshed; default
# 3600), CLOUDNIC_KEEP_SOURCE=0 (delete the prepared kernel tree after making the overlay).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
take_lock
trap umount_all EXIT

# ---- 1. host tools ------------------------------------------------------------------------
need_host=()
command -v debootstrap >/dev/null || need_host+=(debootstrap)
command -v qemu-system-x86_64 >/dev/null || need_host+=(qemu-system-x86)
command -v zstd >/dev/null || need_host+=(zstd)
command -v flock >/dev/null || need_host+=(util-linux)
if [ ${#need_host[@]} -gt 0 ]; then
  echo "host: installing ${need_host[*]}"
  if ! apt-get install -y -q --no-install-recommends "${need_host[@]}" >"$CACHE/host-apt.log" 2>&1; then
    # Stale or missing package lists: refresh (third-party sources may be unreachable;
    # that is not fatal as long as Debian's own lists update).
    apt-get update -q >>"$CACHE/host-apt.log" 2>&1 || true
    apt-get install -y -q --no-install-recommends "${need_host[@]}" >>"$CACHE/host-apt.log" 2>&1 ||
      { tail -n 20 "$CACHE/host-apt.log"; die "host: could not install ${need_host[*]} (log: $CACHE/host-apt.log)"; }
  fi
fi
step host-tools

# ---- 2. sid chroot --------------------------------------------------------------------------
if [ ! -f "$ROOT/.cloudnic-debootstrap-ok" ]; then
  [ -e "$ROOT" ] && { echo "chroot: removing incomplete $ROOT"; safe_rm_chroot; }
  mkdir -p "$CACHE"
  echo "chroot: debootstrap --variant=minbase sid $ROOT $MIRROR"
  if ! "${NICE[@]}" debootstrap --variant=minbase sid "$ROOT" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1; then
    tail -n 20 "$CACHE/debootstrap.log"
    die "debootstrap of Debian sid from $MIRROR failed (log: $CACHE/debootstrap.log)"
  fi
  # The reachable sid snapshot has an expired Release file (linux-kernel-build.md pitfall 1).
  echo 'Acquire::Check-Valid-Until "false";' >"$ROOT/etc/apt/apt.conf.d/99cloudnic-novalid"
  printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' \
    >"$ROOT/etc/apt/apt.conf.d/99cloudnic-norecommends"
  # Docs, man pages and locales are never read here: skip unpacking them.
  # No fsync per unpacked file: a throw-away build chroot does not need crash safety, and
  # dpkg's syncing dominates the install time otherwise.
  echo force-unsafe-io >"$ROOT/etc/dpkg/dpkg.cfg.d/99cloudnic-unsafe-io"
  printf '%s\n' 'path-exclude=/usr/share/doc/*' 'path-exclude=/usr/share/man/*' \
    'path-exclude=/usr/share/locale/*' 'path-exclude=/usr/share/info/*' \
    >"$ROOT/etc/dpkg/dpkg.cfg.d/99cloudnic-nodoc"
  touch "$ROOT/.cloudnic-debootstrap-ok"
  step debootstrap
fi
cp /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true
mount_chroot

# ---- 3. package lists and version resolution ------------------------------------------------
max_age=${CLOUDNIC_APT_MAX_AGE:-3600}
stamp=$ROOT/.cloudnic-apt-update
if [ ! -f "$stamp" ] || [ $(($(date +%s) - $(stat -c %Y "$stamp"))) -gt "$max_age" ]; then
  if IN apt-get update -q >"$CACHE/apt-update.log" 2>&1 && ! grep -q '^E:' "$CACHE/apt-update.log"; then
    touch "$stamp"
  elif [ -f "$stamp" ]; then
    grep '^E:' "$CACHE/apt-update.log" || tail -n 5 "$CACHE/apt-update.log"
    echo "WARNING: apt-get update failed; using the package lists of $(date -r "$stamp" +%F\ %T)"
  else
    tail -n 20 "$CACHE/apt-update.log"
    die "apt-get update in the sid chroot failed (mirror $MIRROR; log: $CACHE/apt-update.log)"
  fi
  step apt-update
fi

# pkg_version PKG -> candidate version, or nothing if the mirror does not have it.
pkg_version() { IN "apt-cache policy '$1' 2>/dev/null" | awk '/Candidate:/ {if ($2 != "(none)") print $2}'; }
# require PKG WHY: fail with a precise message when the mirror lacks PKG.
require() {
  [ -n "$(pkg_version "$1")" ] || die "the Debian sid mirror ($MIRROR) has no installable package '$1'; it is needed $2."
}
# meta_target META PREFIX: the versioned package a metapackage depends on.
meta_target() {
  IN "apt-cache depends '$1'" | awk -v p="$2" '$1 ~ /Depends:/ && index($2, p) == 1 {print $2; exit}'
}

require linux-image-cloud-amd64 "to find the current Debian cloud kernel (metapackage)"
require linux-headers-cloud-amd64 "to find the current Debian cloud kernel headers (metapackage)"
IMG_PKG=$(meta_target linux-image-cloud-amd64 linux-image-)
HDR_PKG=$(meta_target linux-headers-cloud-amd64 linux-headers-)
[ -n "$IMG_PKG" ] || die "linux-image-cloud-amd64 depends on no linux-image-* package"
KREL=${IMG_PKG#linux-image-}
[ "$HDR_PKG" = "linux-headers-$KREL" ] ||
  die "metapackages disagree: linux-image-cloud-amd64 -> $IMG_PKG but linux-headers-cloud-amd64 -> ${HDR_PKG:-nothing}"
require "$IMG_PKG" "for the kernel image booted in QEMU and its modules"
require "$HDR_PKG" "to build an out-of-tree module for $KREL"
KPKG_VER=$(pkg_version "$IMG_PKG")
[ "$(pkg_version "$HDR_PKG")" = "$KPKG_VER" ] || die "$HDR_PKG $(pkg_version "$HDR_PKG") != $IMG_PKG $KPKG_VER"
require rustc "to compile the module (must be the rustc Debian built $KREL with)"
RUSTC_PKG_VER=$(pkg_version rustc)
# Upstream version x.y.z is the first part of the release (7.2.13+deb14-cloud-amd64).
KVER_UP=$(echo "$KREL" | sed -E 's/^([0-9]+\.[0-9]+(\.[0-9]+)?).*/\1/')
KMAJMIN=$(echo "$KVER_UP" | cut -d. -f1,2)
SRC_PKG=linux-source-$KMAJMIN
KEY="${KREL}_${KPKG_VER}_rustc-${RUSTC_PKG_VER}"
OVERLAY=$CACHE/overlays/$KEY.tar.zst
echo "kernel: $IMG_PKG $KPKG_VER (release $KREL); rustc $RUSTC_PKG_VER; overlay key $KEY"

# ---- 4. packages ---------------------------------------------------------------------------
# Build and boot: Debian's rustc (+ clippy for CLIPPY=1 builds), the headers (they pull Debian's gcc and the kbuild tools),
# kmod (modinfo), busybox + cpio (initramfs). The image is NOT installed: its dependencies
# (dracut, systemd, udev) and its postinst (building an initrd) cost a minute and we only
# need its vmlinuz, which step 6 extracts from the .deb.
BASE_PKGS=(rustc rust-clippy make kmod cpio xz-utils zstd busybox-static binutils "$HDR_PKG")
# Only to regenerate the overlay: kernel source and what `make modules_prepare` runs
# (host tools, bindgen over libclang, rustc over rust-src's core).
PREP_PKGS=("$SRC_PKG" rust-src bindgen libclang-dev gcc bc flex bison libelf-dev libssl-dev
  dwarves python3)

install_pkgs() {
  local missing=() p
  for p in "$@"; do
    IN "dpkg-query -W -f='\${Status}' '$p' 2>/dev/null" | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  for p in "${missing[@]}"; do require "$p" "(package set of linux/env.sh)"; done
  echo "chroot: apt-get install ${missing[*]}"
  IN "nice -n 10 apt-get install -y -q ${missing[*]}" >"$CACHE/apt-install.log" 2>&1 ||
    { tail -n 30 "$CACHE/apt-install.log"; die "apt-get install in the chroot failed (log: $CACHE/apt-install.log)"; }
  grep -E '^(Need to get|Fetched)' "$CACHE/apt-install.log" || true
  IN apt-get clean
}

if [ -f "$OVERLAY" ]; then
  install_pkgs "${BASE_PKGS[@]}"
else
  [ "$(pkg_version "$SRC_PKG")" = "$KPKG_VER" ] ||
    die "the mirror's $SRC_PKG is '$(pkg_version "$SRC_PKG")', not $KPKG_VER like $IMG_PKG: the Rust artifacts must be regenerated from the exact source of the booted kernel"
  install_pkgs "${BASE_PKGS[@]}" "${PREP_PKGS[@]}"
fi
step apt-install

HDR=/usr/src/linux-headers-$KREL
[ -f "$ROOT$HDR/.config" ] || die "$HDR/.config missing after installing $HDR_PKG"
# Debian builds the kernel with its own rustc; Rust symbol hashes (v0 mangling, no
# -Cmetadata) depend on the exact version string, so nothing else can work.
want_rustc=$(sed -n 's/^CONFIG_RUSTC_VERSION_TEXT="\(.*\)"$/\1/p' "$ROOT$HDR/.config")
have_rustc=$(IN "rustc --version")
[ -n "$want_rustc" ] || die "$KREL is not built with CONFIG_RUST (no CONFIG_RUSTC_VERSION_TEXT in $HDR/.config)"
[ "$want_rustc" = "$have_rustc" ] ||
  die "$KREL was built with '$want_rustc' but the mirror's rustc is '$have_rustc': the module's Rust symbols would not resolve against the kernel's (Unknown symbol on insmod)"
# Compiler and cross prefix Debian used (its .kernelvariables), so the prepared tree's
# CONFIG_CC_VERSION_TEXT matches the headers.
kvars() {
  IN "printf 'include $HDR/.kernelvariables\nall:;@echo \$(%s)\n' '$1' | make -s -f - all"
}
KCC=$(kvars CC)
KCROSS=$(kvars CROSS_COMPILE)
KBUILD_SCRIPTS=$(IN "readlink -f $HDR/scripts")

# ---- 5. the Rust overlay ----------------------------------------------------------------------
if [ ! -f "$OVERLAY" ]; then
  SRC=/usr/src/linux-source-$KMAJMIN
  LOCALVERSION=${KREL#"$KVER_UP"}
  MK="make ARCH=x86 CROSS_COMPILE=$KCROSS CC=$KCC LOCALVERSION=$LOCALVERSION"
  echo "overlay: regenerating rust/ for $KREL ($MK modules_prepare)"
  IN "rm -rf $SRC && cd /usr/src && nice -n 10 tar xf $SRC.tar.xz"
  step untar-source
  IN "cd $SRC && cp $HDR/.config .config && $MK olddefconfig" >"$CACHE/olddefconfig.log" 2>&1 ||
    { tail -n 20 "$CACHE/olddefconfig.log"; die "make olddefconfig failed"; }
  got=$(IN "cd $SRC && $MK -s kernelrelease")
  [ "$got" = "$KREL" ] || die "prepared tree's kernelrelease is '$got', not '$KREL'"
  IN "cd $SRC && nice -n 10 $MK -j\$(nproc) modules_prepare" >"$CACHE/modules_prepare.log" 2>&1 ||
    { grep -E 'error|Error' "$CACHE/modules_prepare.log" | head -n 30; die "make modules_prepare failed (log: $CACHE/modules_prepare.log)"; }
  step modules_prepare
  mkdir -p "$CACHE/overlays"
  IN "cd $SRC && tar -cf - rust/*.rmeta rust/*.so scripts/target.json" |
    zstd -q -3 -T2 -o "$OVERLAY.tmp"
  mv "$OVERLAY.tmp" "$OVERLAY"
  # The prepared tree (2 GB) stays by default: deleting it costs ~15 s, and it is the
  # reference for the 7.2 Rust API (rust/kernel, samples/rust). Replaced on a new version.
  [ "${CLOUDNIC_KEEP_SOURCE:-1}" = 1 ] || IN "rm -rf $SRC"
  step overlay-pack
fi

if [ "$(cat "$ROOT$HDR/.cloudnic-overlay" 2>/dev/null)" != "$KEY" ]; then
  rm -rf "$ROOT$HDR/rust"
  zstd -dc "$OVERLAY" | tar -C "$ROOT$HDR" -xf - rust
  zstd -dc "$OVERLAY" | tar -C "$ROOT$KBUILD_SCRIPTS" --strip-components=1 -xf - scripts/target.json
  echo "$KEY" >"$ROOT$HDR/.cloudnic-overlay"
  step overlay-unpack
fi

# ---- 6. the kernel image: Debian's vmlinuz, extracted from the package(s) ---------------------
KIMG=$CACHE/kernels/${KREL}_$KPKG_VER
if [ ! -f "$KIMG/vmlinuz" ]; then
  # The image metapackage is split (7.2: vmlinuz in linux-binary-<release>); take the image
  # package and its versioned linux-binary-/linux-image- dependencies, find the vmlinuz.
  pkgs="$IMG_PKG $(IN "apt-cache depends '$IMG_PKG'" |
    awk -v r="$KREL" '$1 ~ /Depends:/ && ($2 == "linux-binary-" r || $2 == "linux-image-" r) {print $2}')"
  rm -rf "$KIMG.tmp" && mkdir -p "$KIMG.tmp/x"
  IN "mkdir -p /cloudnic/debs && cd /cloudnic/debs && rm -f *.deb && apt-get download -q $pkgs" \
    >"$CACHE/image-download.log" 2>&1 ||
    { tail -n 20 "$CACHE/image-download.log"; die "could not download $pkgs (needed for Debian's vmlinuz)"; }
  for d in "$ROOT"/cloudnic/debs/*.deb; do dpkg-deb -x "$d" "$KIMG.tmp/x"; done
  vmlinuz=$(find "$KIMG.tmp/x" -name "vmlinuz*" -type f | head -n 1)
  [ -n "$vmlinuz" ] || die "no vmlinuz in $pkgs"
  mv "$vmlinuz" "$KIMG.tmp/vmlinuz"
  rm -rf "$KIMG.tmp/x" "$ROOT/cloudnic/debs" "$KIMG"
  mv "$KIMG.tmp" "$KIMG"
  step kernel-image
fi

cat >"$CACHE/current.env" <<EOF
# Written by linux/env.sh on $(date -u +%FT%TZ)
KREL='$KREL'
KPKG_VER='$KPKG_VER'
RUSTC_PKG_VER='$RUSTC_PKG_VER'
RUSTC_VERSION='$have_rustc'
OVERLAY_KEY='$KEY'
KDIR='$HDR'
VMLINUZ='$KIMG/vmlinuz'
EOF
echo "env: ready: $KREL, $have_rustc, headers + Rust overlay in $ROOT$HDR"
