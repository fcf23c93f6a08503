#!/usr/bin/env bash
# Tables from the e2e runs' console logs (~/.cache/cloudnic/e2e/out/<driver>/console.txt):
#   bash e2e/compare.sh upstream cloudnic     one side-by-side markdown table, a column per
#                                             driver; also written to out/side-by-side.md
#   bash e2e/compare.sh --per-device DRIVER   one driver's measurements, a row per device
#                                             (run.sh writes it to out/<driver>/results.md)
# Rows: result, link-up time, ping RTT, bulk throughput, MMIO writes / reads / interrupts /
# TX doorbells per 1000 packets (the model's counters over the bulk transfer), reset recovery
# after keep-alive loss, then every check (PASS / FAIL / - for not reached) and every info line.
# Only reads files; run e2e/run.sh first.
set -euo pipefail
E2E_DIR=$(cd "$(dirname "$0")" && pwd)
. "$E2E_DIR/lib.sh"

con() { echo "$E2E_OUT/$1/console.txt"; }
lines() { # lines DRIVER PREFIX: the console's "E2E PREFIX ..." lines, without "E2E "
  [ -f "$(con "$1")" ] || return 0
  grep -o "E2E $2.*" "$(con "$1")" | sed 's/^E2E //' || true
}
field() { tr ' ' '\n' | sed -n "s/^$1=//p" | tail -n 1; }
metric() { lines "$1" "metric " | field "$2"; }
rate() { lines "$1" "rate $2 " | field "$3"; }
or_dash() { if [ -n "$1" ]; then echo "$1"; else echo "-"; fi; }
run_env() { # run_env DRIVER KEY
  [ -f "$E2E_OUT/$1/run.env" ] || return 0
  sed -n "s/^$2=//p" "$E2E_OUT/$1/run.env"
}
devices() { lines "$1" "rate " | awk '{print $2}' | awk '!seen[$0]++'; }

if [ "${1:-}" = --per-device ]; then
  d=${2:?--per-device needs a driver}
  echo "| driver | device | boot→link (guest uptime) | insmod→link | ping RTT fwd / rev | bulk | packets | MMIO writes /1000 pkts | MMIO reads /1000 | readless reads /1000 | interrupts /1000 | TX doorbells /1000 |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
  for dev in $(devices "$d"); do
    echo "| $d | $dev | $(metric "$d" boot_to_link_s) s | $(metric "$d" insmod_to_link_s) s | $(metric "$d" ping_rtt_ms_fwd) / $(metric "$d" ping_rtt_ms_rev) ms | $(metric "$d" bulk_mbit_s) Mbit/s ($(metric "$d" bulk_bytes) B in $(metric "$d" bulk_s) s) | $(rate "$d" "$dev" packets) | $(rate "$d" "$dev" mmio_writes_per_1000) | $(rate "$d" "$dev" mmio_reads_per_1000) | $(rate "$d" "$dev" readless_reads_per_1000) | $(rate "$d" "$dev" interrupts_per_1000) | $(rate "$d" "$dev" tx_doorbells_per_1000) |"
  done
  exit 0
fi

DRIVERS=("$@")
[ ${#DRIVERS[@]} -gt 0 ] || DRIVERS=(upstream cloudnic)
# Device names from the first driver that measured any.
DEVS=()
for d in "${DRIVERS[@]}"; do
  mapfile -t DEVS < <(devices "$d")
  [ ${#DEVS[@]} -gt 0 ] && break
done

row() { # row LABEL CMD...: one cell per driver from CMD DRIVER
  local label=$1 d out
  shift
  out="| $label |"
  for d in "${DRIVERS[@]}"; do out+=" $(or_dash "$("$@" "$d")") |"; done
  echo "$out"
}
per_dev() { # per_dev KEY DRIVER: "ena0 / ena1" values of a rate
  local v=() dev
  for dev in "${DEVS[@]}"; do v+=("$(or_dash "$(rate "$2" "$dev" "$1")")"); done
  [ -n "$(rate "$2" "${DEVS[0]:-none}" "$1")" ] && (IFS=/; echo "${v[*]}" | sed 's#/# / #g')
}
result() {
  local r n
  r=$(run_env "$1" RESULT)
  n=$(lines "$1" "check " | grep -c ' FAIL ' || true)
  case "$r" in
    "") echo "not run" ;;
    PASS) echo "PASS ($(lines "$1" "check " | wc -l) checks)" ;;
    *) echo "**$r** ($n failed, $(lines "$1" "check " | wc -l) run)" ;;
  esac
}
wall() { local w; w=$(run_env "$1" WALL_S); [ -n "$w" ] && echo "$w s"; }
link_boot() { local v; v=$(metric "$1" boot_to_link_s); [ -n "$v" ] && echo "$v s"; }
link_insmod() { local v; v=$(metric "$1" insmod_to_link_s); [ -n "$v" ] && echo "$v s"; }
rtt() { local f r; f=$(metric "$1" ping_rtt_ms_fwd); r=$(metric "$1" ping_rtt_ms_rev); [ -n "$f$r" ] && echo "$(or_dash "$f") / $(or_dash "$r") ms"; }
bulk() { local v; v=$(metric "$1" bulk_mbit_s); [ -n "$v" ] && echo "$v Mbit/s ($(metric "$1" bulk_s) s)"; }
packets() { per_dev packets "$1"; }
mmio_w() { per_dev mmio_writes_per_1000 "$1"; }
mmio_r() { per_dev mmio_reads_per_1000 "$1"; }
readless() { per_dev readless_reads_per_1000 "$1"; }
irqs() { per_dev interrupts_per_1000 "$1"; }
doorbells() { per_dev tx_doorbells_per_1000 "$1"; }
recovery() { local v; v=$(metric "$1" reset_recovery_s); [ -n "$v" ] && echo "$v s"; }
wd_recovery() { local v; v=$(metric "$1" watchdog_to_ping_s); [ -n "$v" ] && echo "$v s"; }
check_of() { lines "$2" "check $1 " | awk '{print $3}' | tail -n 1; }
info_of() { lines "$2" "info $1: " | sed "s/^info $1: //" | tail -n 1; }

DEVLIST=$(IFS=/; echo "${DEVS[*]:-devices}" | sed 's#/# / #g')
{
  printf '| e2e (%s, QEMU TCG) |' "$(date -u +%F)"
  for d in "${DRIVERS[@]}"; do printf ' %s |' "$d"; done
  printf '\n|---|'
  for _ in "${DRIVERS[@]}"; do printf -- '---|'; done
  printf '\n'
  row "result" result
  row "QEMU wall time (boot, all checks, poweroff)" wall
  row "link up: boot → both carriers (guest uptime)" link_boot
  row "link up: insmod → both carriers" link_insmod
  row "ping RTT fwd / rev (avg of 20)" rtt
  row "bulk throughput (64 MiB HTTP, sha256 checked)" bulk
  row "packets in the bulk transfer ($DEVLIST)" packets
  row "MMIO writes /1000 pkts ($DEVLIST)" mmio_w
  row "MMIO reads /1000 pkts ($DEVLIST)" mmio_r
  row "readless reads /1000 pkts ($DEVLIST)" readless
  row "interrupts /1000 pkts ($DEVLIST)" irqs
  row "TX doorbells /1000 pkts ($DEVLIST)" doorbells
  row "reset recovery: keep-alive loss injected → first ping" recovery
  row "reset recovery: watchdog log line → first ping" wd_recovery
  for name in $(for d in "${DRIVERS[@]}"; do lines "$d" "check " | awk '{print $2}'; done | awk '!seen[$0]++'); do
    row "check $name" check_of "$name"
  done
  for name in $(for d in "${DRIVERS[@]}"; do lines "$d" "info " | awk '{print $2}' | sed 's/:$//'; done | awk '!seen[$0]++'); do
    row "info $name" info_of "$name"
  done
} >"$E2E_OUT/side-by-side.md.new"
# Failed checks with their details, under the table.
{
  for d in "${DRIVERS[@]}"; do
    lines "$d" "check " | grep ' FAIL ' | sed "s/^check /- $d: /" || true
    r=$(run_env "$d" RESULT)
    case "$r" in
      CRASH | TIMEOUT)
        last=$(lines "$d" "check " | tail -n 1 | awk '{print $2}')
        bug=$(grep -a -m1 -E 'BUG:|Oops|Kernel panic|general protection' "$(con "$d")" | sed 's/^\[[ 0-9.]*\] //' || true)
        # The first stack frame inside a module (e.g. "cn_rs_xmit+0x5ae/0xf92 [cloudnic]").
        frame=$(grep -a -m1 -E ' [^ ]+\+0x[0-9a-f]+/0x[0-9a-f]+ \[[a-z0-9_]+\]$' "$(con "$d")" | sed 's/^\[[ 0-9.]*\] *//' || true)
        echo "- $d: $r after check ${last:-none}${bug:+; first: \`$bug\`}${frame:+ in \`$frame\`} (full log: $(con "$d"))"
        ;;
      BUILD-FAILED) echo "- $d: build failed (log: $E2E_OUT/$d/build.log)" ;;
    esac
  done
} >"$E2E_OUT/side-by-side.fails"
if [ -s "$E2E_OUT/side-by-side.fails" ]; then
  { echo; echo "Failures:"; echo; cat "$E2E_OUT/side-by-side.fails"; } >>"$E2E_OUT/side-by-side.md.new"
fi
rm -f "$E2E_OUT/side-by-side.fails"
mv "$E2E_OUT/side-by-side.md.new" "$E2E_OUT/side-by-side.md"
cat "$E2E_OUT/side-by-side.md"
echo
echo "(written to $E2E_OUT/side-by-side.md)"
