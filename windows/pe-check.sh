#!/usr/bin/env bash
# Check a kernel-driver PE built by build.sh:
#   pe-check.sh cloudnic.sys /usr/x86_64-w64-mingw32/lib
# Fails (exit 1) with a message per violated rule.
set -euo pipefail
SYS="$1"
LIBDIR="$2"
OBJDUMP=x86_64-w64-mingw32-objdump
NM=x86_64-w64-mingw32-nm
fail=0
bad() { echo "PE check FAILED: $*" >&2; fail=1; }
ok() { echo "  ok: $*"; }

hdr="$($OBJDUMP -p "$SYS")"

# 1. Subsystem native (1), PE32+.
grep -qE '^Subsystem[[:space:]]+00000001' <<<"$hdr" && ok "subsystem NT native" || bad "subsystem is not native"
grep -qE '^Magic[[:space:]]+020b' <<<"$hdr" && ok "PE32+ (x86_64)" || bad "not PE32+"

# 2. Entry point == DriverEntry.
base=$(awk '/^ImageBase/ {print $2}' <<<"$hdr")
entry=$(awk '/^AddressOfEntryPoint/ {print $2}' <<<"$hdr")
sym=$($NM "$SYS" | awk '$3 == "DriverEntry" {print $1}')
if [ -n "$sym" ] && [ $((16#$base + 16#$entry)) -eq $((16#$sym)) ]; then
  ok "entry point is DriverEntry (RVA 0x$entry)"
else
  bad "entry point 0x$entry (+0x$base) is not DriverEntry (${sym:-missing})"
fi

# 3. Imports: only the allowed DLLs, each function exported by its import library.
declare -A LIB_OF=([NDIS.SYS]=ndis [ntoskrnl.exe]=ntoskrnl [HAL.dll]=hal)
imports="$(awk '
  /DLL Name:/ { dll = $3; next }
  dll != "" && /^\t[0-9a-f]+\t/ { print dll, $NF; next }
  /^$/ { dll = "" }' <<<"$hdr")"
[ -n "$imports" ] || bad "no imports found"
# Export lists read once (grep -q on a pipe would SIGPIPE nm under pipefail).
declare -A EXPORTS=()
for lib in ndis ntoskrnl hal; do
  EXPORTS[$lib]="$($NM "$LIBDIR/lib$lib.a" 2>/dev/null | awk '$2 == "T" {print $3}')"
done
count=0
declare -A SEEN_DLL=()
while read -r dll fn; do
  [ -n "$dll" ] || continue
  lib="${LIB_OF[$dll]:-}"
  if [ -z "$lib" ]; then
    bad "import $fn from $dll (only NDIS.SYS, ntoskrnl.exe, HAL.dll allowed)"
    continue
  fi
  SEEN_DLL[$dll]=1
  if ! grep -qx -- "$fn" <<<"${EXPORTS[$lib]}"; then
    bad "$fn is not exported by lib$lib.a ($dll)"
  fi
  count=$((count + 1))
done <<<"$imports"
ok "$count imports, all from {${!SEEN_DLL[*]}} and present in the import libraries"

# 4. No CRT: no C runtime DLL, no CRT start-up or mingw runtime symbols.
if grep -qiE 'DLL Name: (msvcrt|ucrt|api-ms-win-crt|vcruntime|libgcc|libwinpthread|kernel32)' <<<"$hdr"; then
  bad "C runtime / user-mode DLL imported"
fi
if $NM "$SYS" | awk '{print $NF}' | grep -qE '^(mainCRTStartup|WinMainCRTStartup|DllMainCRTStartup|_CRT_INIT|__main|__mingw_.*|_pei386_runtime_relocator)$'; then
  bad "CRT start-up symbols linked in"
else
  ok "no CRT"
fi

# 5. Nothing unresolved. ld refuses undefined references in PE images; what
# `nm -u` still lists are section symbols of the import stubs and the
# boundary symbols of ld's default PE script (___crt_x?_start__, ___tls_*,
# __end__), which nothing references.
unresolved="$($NM -u "$SYS" | awk '{print $NF}' \
  | grep -vE '^\.|^___crt_x[a-z]_(start|end)__$|^___tls_(start|end)__$|^__end__$' | sort -u || true)"
[ -z "$unresolved" ] && ok "no unresolved symbols" || bad "unresolved: $unresolved"

# 6. Loadable anywhere, W^X.
grep -qE '^Entry 5 [0-9a-f]+ [0-9a-f]*[1-9a-f][0-9a-f]* Base Relocation' <<<"$hdr" && ok "base relocations present" \
  || bad "no base relocation table"
wx="$($OBJDUMP -h "$SYS" | awk '/^ +[0-9]+ /{name=$2; getline; if ($0 ~ /CODE/ && $0 !~ /READONLY/) print name}')"
[ -z "$wx" ] && ok "no writable code section" || bad "writable code sections: $wx"

exit $fail
