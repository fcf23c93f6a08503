# shellcheck shell=sh
# Sourced by e2e/guest/init (installed as /e2e-rmmod.sh): unload the driver while a transfer
# runs, check that nothing is left behind, then load it again.
#
# "Nothing left behind", precisely, from the device model's side (cloudnic-emu `ledger` and
# `counters`, tests/models/src/ena/holdings.rs) and the guest's:
#   rmmod-ledger-DEV      the device owns no TX packet and no RX buffer (ledger outstanding=0),
#                         holds no guest address (rings, admin queue, AENQ, readless page,
#                         host-info: dma_holdings=0) and no buffer rule was broken (violations=0)
#   rmmod-device-reset    the driver reset each device on the way out (the reset is what makes a
#                         device forget its rings; model counter `resets` grew)
#   rmmod-device-quiet    no MMIO and no interrupt for 1 s after the unload
#   rmmod-bus-master-off  bus mastering disabled (pci_disable_device): the device cannot DMA
#   rmmod-dmesg-clean     no BUG/WARNING/Oops in the kernel log since the unload started
#   kmemleak              when the kernel has it (Debian's cloud kernel does not: info)
# Then insmod again: netdevs, link, ping and a checksummed transfer on the re-probed driver.

ledger_field() { # ledger_field LINE KEY
  echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1
}
counter() { # counter DEV NAME
  hostctl counters "$1" | sed -n "s/^$1\.$2=//p"
}
quiet_counters() { # the counters a live driver moves: MMIO both ways, interrupts
  for d in "$DEV0" "$DEV1"; do
    hostctl counters "$d" | grep -E "\.(mmio_writes|mmio_reads|readless_reads|interrupts)="
  done | tr '\n' ' '
}

RESETS0=$(counter "$DEV0" resets)
RESETS1=$(counter "$DEV1" resets)
DM_RMMOD=$(dmesg | wc -l)
stream_start
T0=$(up)
rmmod "$DRIVER_MODULE"
rc=$?
T1=$(up)
running=no
stream_running && running=yes
check rmmod "$rc" "rmmod $DRIVER_MODULE in $(awk "BEGIN{print $T1-$T0}")s, transfer running: $running"
# The transfer's NIC is gone: end it (wget would wait for its 120 s timeout).
killall wget 2>/dev/null
wait "$STREAM" 2>/dev/null
left="$(netdev_on_bus 1)$(netdev_on_bus 2)"
check rmmod-netdevs-gone "$([ -z "$left" ]; echo $?)" "netdevs left: ${left:-none}"
sleep 1
Q0=$(quiet_counters)
sleep 1
Q1=$(quiet_counters)
check rmmod-device-quiet "$([ "$Q0" = "$Q1" ]; echo $?)" "counters over 1 s: ${Q1:-none}"
for d in "$DEV0" "$DEV1"; do
  L=$(hostctl ledger "$d" | head -n 1)
  o=$(ledger_field "$L" outstanding)
  v=$(ledger_field "$L" violations)
  h=$(ledger_field "$L" dma_holdings)
  check "rmmod-ledger-$d" "$([ "$o" = 0 ] && [ "$v" = 0 ] && [ "$h" = 0 ]; echo $?)" "$L"
done
R0=$(counter "$DEV0" resets)
R1=$(counter "$DEV1" resets)
check rmmod-device-reset "$([ "${R0:-0}" -gt "${RESETS0:-0}" ] && [ "${R1:-0}" -gt "${RESETS1:-0}" ]; echo $?)" \
  "device resets $DEV0 $RESETS0 -> $R0, $DEV1 $RESETS1 -> $R1"
BM=$(hostctl list | grep -c 'bus_master=true')
check rmmod-bus-master-off "$([ "$BM" = 0 ]; echo $?)" "functions still bus master: $BM"
dmesg | tail -n +$((DM_RMMOD + 1)) >/tmp/dm-rmmod
BAD=$(grep -cE 'BUG:|WARNING:|Oops|general protection|Call Trace' /tmp/dm-rmmod)
grep -E 'BUG:|WARNING:|Oops|general protection' /tmp/dm-rmmod | head -n 5
check rmmod-dmesg-clean "$([ "$BAD" = 0 ]; echo $?)" "$BAD BUG/WARNING/Oops/trace lines"

mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
if [ -e /sys/kernel/debug/kmemleak ]; then
  # Two scans: kmemleak reports an object only once it was unreferenced in two scans.
  echo scan >/sys/kernel/debug/kmemleak
  sleep 1
  echo scan >/sys/kernel/debug/kmemleak
  n=$(grep -c '^unreferenced object' /sys/kernel/debug/kmemleak)
  head -n 40 /sys/kernel/debug/kmemleak
  check kmemleak "$([ "$n" = 0 ]; echo $?)" "$n unreferenced objects after rmmod"
else
  say "info kmemleak: not available in this kernel"
fi

# ---- re-probe -------------------------------------------------------------------------------
load_driver
rc=$?
check reprobe-insmod "$rc" "insmod $DRIVER_KO again"
if [ "$rc" = 0 ] && find_netdevs; then
  check reprobe-netdevs 0 "$DEV0=$IF0 $DEV1=$IF1 after $(awk "BEGIN{print $(up)-$T_INSMOD}")s"
  setup_netdevs
  wait_link
  check reprobe-link "$?" "$IF0 and $IF1 carrier after $(awk "BEGIN{print $(up)-$T_INSMOD}")s"
  P=$(ping -c 5 -i 0.2 -W 2 $IP1 2>&1)
  check reprobe-ping "$?" "avg $(echo "$P" | rtt) ms"
  fetch_sum data /tmp/reprobe
  check reprobe-bulk "$([ "$(cat /tmp/reprobe.sum)" = "$SUM_SRC" ]; echo $?)" "sha256 $(cat /tmp/reprobe.sum)"
else
  check reprobe-netdevs 1 "$DEV0=$IF0 $DEV1=$IF1"
fi
