# shellcheck shell=sh
# MANA phases of the e2e, sourced by guest/init after link, ping and bulk transfer passed
# (or failed) on the two MANA functions: ethtool, then faults with recovery.
if want ethtool; then
et() { # et NAME PATTERN ARGS... : ethtool ARGS output must match PATTERN
  n=$1; pat=$2; shift 2
  out=$(ethtool "$@" 2>&1); rc=$?
  echo "$out" | sed "s/^/    /" | head -n 40
  check "$n" "$([ "$rc" = 0 ] && echo "$out" | grep -qE "$pat"; echo $?)" "ethtool $*"
}
et ethtool-i "^driver: mana" -i "$IF0"
et ethtool-S "tx_0_packets: [1-9]" -S "$IF0"
et ethtool-l "^Combined:[[:space:]]+[1-9]" -l "$IF0"
fi
