#!/usr/bin/env bash
# Vendor the crates.io sources the kernel module links, at exactly the versions in the
# workspace's Cargo.lock, into $CLOUDNIC_CACHE/linux/vendor/<versions>/ (never into the repo).
# Prints that directory on stdout.
#
# The kernel build cannot run cargo, so it compiles each dependency crate itself
# (linux/Kbuild). This script also guards that arrangement: it fails if a shared crate
# gained a dependency the Kbuild does not know how to build.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# Dependencies of the shared crates that the module build provides:
#   zerocopy, zerocopy-derive  the kernel's own copies (rust/libzerocopy.rmeta, 0.8.54)
#   bitflags                   vendored here, compiled by linux/Kbuild
#   cloudnic-*                 workspace crates, compiled by linux/Kbuild
VENDORED=(bitflags)
META=$(cd "$REPO" && cargo metadata --format-version 1 --locked 2>/dev/null) ||
  die "cargo metadata --locked failed in $REPO (is Cargo.lock up to date?)"
# "<name> <version> <lock checksum>" per vendored crate, after checking the dependency sets.
PINS=$(printf '%s' "$META" | python3 -c '
import json, sys
meta = json.load(sys.stdin)
vendored = set(sys.argv[1:])
provided = {"zerocopy", "zerocopy-derive"} | vendored
shared = {"cloudnic-common", "cloudnic-ena", "cloudnic-mana"}
bad = []
for p in meta["packages"]:
    if p["name"] not in shared:
        continue
    for d in p["dependencies"]:
        if d["kind"] is None and d["name"] not in provided | shared:
            bad.append("%s -> %s" % (p["name"], d["name"]))
if bad:
    sys.exit("shared crate dependencies the kernel build does not provide: " + ", ".join(bad) +
             " (add them to linux/vendor.sh and linux/Kbuild)")
zc = sorted({p["version"] for p in meta["packages"] if p["name"] in ("zerocopy", "zerocopy-derive")})
if zc and zc != ["0.8.54"]:
    sys.exit("workspace zerocopy is %s but the kernel provides 0.8.54" % zc)
# The version the shared crates resolve to (other workspace members, e.g. the
# vfio-user server, may pull in other semver-major copies of the same crate).
ids = {p["id"]: p for p in meta["packages"]}
shared_ids = {p["id"] for p in meta["packages"] if p["name"] in shared}
used = {}
for node in meta["resolve"]["nodes"]:
    if node["id"] in shared_ids:
        for dep in node["deps"]:
            pkg = ids[dep["pkg"]]
            if pkg["name"] in vendored:
                used.setdefault(pkg["name"], set()).add(pkg["version"])
for name in sorted(vendored):
    vs = sorted(used.get(name, ()))
    if len(vs) != 1:
        sys.exit("expected the shared crates to use exactly one %s, found %s" % (name, vs))
    print(name, vs[0])
' "${VENDORED[@]}")

KEY=$(echo "$PINS" | tr ' \n' '-_' | sed 's/_$//')
DEST=$CACHE/vendor/$KEY
if [ ! -f "$DEST/.cloudnic-ok" ]; then
  WORK=$CACHE/vendor/.work-$KEY
  rm -rf "$WORK" "$DEST"
  mkdir -p "$WORK"
  {
    printf '[package]\nname = "cloudnic-kernel-vendor"\nversion = "0.0.0"\nedition = "2021"\n'
    printf '[lib]\npath = "lib.rs"\n[dependencies]\n'
    while read -r name ver; do
      printf '%s = { version = "=%s", default-features = false }\n' "$name" "$ver"
    done <<<"$PINS"
  } >"$WORK/Cargo.toml"
  : >"$WORK/lib.rs"
  (cd "$WORK" && cargo vendor --quiet --versioned-dirs "$DEST" >/dev/null) ||
    die "cargo vendor of ${VENDORED[*]} failed (needs crates.io or a cargo registry cache)"
  # The vendored copy must be the very package the workspace locked (same checksum).
  while read -r name ver; do
    want=$(awk -v n="$name" -v v="$ver" '
      $1 == "name" && $3 == "\"" n "\"" {hit = 1; next}
      hit && $1 == "version" {hit = ($3 == "\"" v "\""); next}
      hit && $1 == "checksum" {gsub(/"/, "", $3); print $3; exit}' "$REPO/Cargo.lock")
    got=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["package"])' \
      "$DEST/$name-$ver/.cargo-checksum.json")
    [ "$want" = "$got" ] || die "vendored $name $ver checksum $got != Cargo.lock's $want"
  done <<<"$PINS"
  rm -rf "$WORK"
  touch "$DEST/.cloudnic-ok"
fi
echo "$DEST"
