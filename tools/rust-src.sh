#!/usr/bin/env bash
# Make Debian sid's rust-src the nightly toolchain's rust-src component, so
# `cargo +nightly build -Zbuild-std=core` works (rustup cannot download it
# here). Idempotent; cached under $CLOUDNIC_CACHE (default ~/.cache/cloudnic).
set -euo pipefail
CACHE="${CLOUDNIC_CACHE:-$HOME/.cache/cloudnic}/rust-src"
SYSROOT="$(rustc +nightly --print sysroot)"
LINK="$SYSROOT/lib/rustlib/src/rust"
if [ -e "$LINK/library/core/src/lib.rs" ]; then
  exit 0
fi
mkdir -p "$CACHE/apt/lists/partial" "$CACHE/unpacked"
if ! ls "$CACHE"/rust-src_*.deb >/dev/null 2>&1; then
  echo 'deb http://deb.debian.org/debian sid main' > "$CACHE/apt/sources.list"
  APT=(-o "Dir::Etc::sourcelist=$CACHE/apt/sources.list" -o Dir::Etc::sourceparts=- \
       -o "Dir::State::Lists=$CACHE/apt/lists" -o Acquire::Check-Valid-Until=false \
       -o Debug::NoLocking=1 -o APT::Sandbox::User=root)
  apt-get "${APT[@]}" update -qq
  (cd "$CACHE" && apt-get "${APT[@]}" download rust-src) || {
    echo "error: Debian sid package 'rust-src' could not be downloaded; it is needed for" >&2
    echo "       -Zbuild-std=core (the no_std build check of the shared crates)." >&2
    exit 1
  }
fi
if [ ! -d "$CACHE/unpacked/usr/lib/rustlib/src/rust" ]; then
  dpkg -x "$CACHE"/rust-src_*.deb "$CACHE/unpacked"
fi
mkdir -p "$(dirname "$LINK")"
ln -sfn "$CACHE/unpacked/usr/lib/rustlib/src/rust" "$LINK"
echo "rust-src: linked Debian's $(basename "$CACHE"/rust-src_*.deb) into $SYSROOT"
