#!/usr/bin/env bash
# Load cloudnic.ko into Debian's real kernel (the vmlinuz of the package env.sh resolved)
# under QEMU TCG, and check it: modinfo aliases for ENA and MANA, insmod, driver registered,
# a probe on a stand-in PCI device (failing cleanly), rmmod, and a clean kernel log.
# Fails loudly with the whole kernel log on any error. Needs env.sh and build.sh first.
#
# TCG, not KVM: this host's /dev/kvm (kvm-pvm) cannot boot a stock kernel
# (shared/reference/linux-kernel-build.md, pitfall 2).
# Environment: CLOUDNIC_VM_TIMEOUT (seconds, default 300).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
take_lock
trap umount_all EXIT
load_current_env
KO=$OUT/cloudnic.ko
[ -f "$KO" ] || die "no $KO: run linux/build.sh first"

# ---- 1. modinfo: aliases for every ENA and MANA PCI id (ena.md §8, mana.md §1.1) ----------
mount_chroot
mkdir -p "$ROOT/cloudnic/vm"
cp "$KO" "$ROOT/cloudnic/vm/cloudnic.ko"
IN "modinfo /cloudnic/vm/cloudnic.ko" >"$OUT/modinfo.txt"
missing=0
for id in 1D0F:0EC2 1D0F:1EC2 1D0F:EC20 1D0F:EC21 1414:00BA 1414:00B9; do
  alias="pci:v0000${id%:*}d0000${id#*:}sv*sd*bc*sc*i*"
  if ! grep -qxF "alias:          $alias" "$OUT/modinfo.txt"; then
    echo "missing modinfo alias $alias"
    missing=1
  fi
done
vermagic=$(awk '$1 == "vermagic:" {print $2}' "$OUT/modinfo.txt")
if [ "$missing" = 1 ] || [ "$vermagic" != "$KREL" ]; then
  cat "$OUT/modinfo.txt"
  die "modinfo check failed (aliases above, vermagic '$vermagic' vs '$KREL')"
fi
echo "modinfo: $(grep -c '^alias:' "$OUT/modinfo.txt") PCI aliases incl. all ENA (1D0F) and MANA (1414) ids; vermagic $vermagic"
step modinfo

# ---- 2. initramfs: static busybox, /init, the module (debug info stripped) ----------------
IN "set -e; rm -rf /cloudnic/vm/root; mkdir -p /cloudnic/vm/root/bin /cloudnic/vm/root/proc \
    /cloudnic/vm/root/sys /cloudnic/vm/root/dev; cp /usr/bin/busybox /cloudnic/vm/root/bin/; \
    strip --strip-debug -o /cloudnic/vm/root/cloudnic.ko /cloudnic/vm/cloudnic.ko"
install -m 755 "$LINUX_DIR/vm/init" "$ROOT/cloudnic/vm/root/init"
IN "cd /cloudnic/vm/root && find . | cpio -o -H newc --quiet | gzip -1 > /cloudnic/vm/initramfs.cpio.gz"
cp "$ROOT/cloudnic/vm/initramfs.cpio.gz" "$OUT/initramfs.cpio.gz"
echo "initramfs: $(stat -c %s "$OUT/initramfs.cpio.gz") bytes"
step initramfs

# ---- 3. boot Debian's vmlinuz under TCG ---------------------------------------------------
[ -f "$VMLINUZ" ] || die "no $VMLINUZ: run linux/env.sh"
LOG=$OUT/vm.log
rc=0
timeout "${CLOUDNIC_VM_TIMEOUT:-300}" "${NICE[@]}" qemu-system-x86_64 -accel tcg -cpu max -m 1024 -smp 1 \
  -nographic -no-reboot -nodefaults -serial stdio -device pci-testdev \
  -kernel "$VMLINUZ" -initrd "$OUT/initramfs.cpio.gz" \
  -append "console=ttyS0 panic=-1 loglevel=4 cloudnic.krel=$KREL" </dev/null >"$LOG" 2>&1 || rc=$?
tr -d '\r' <"$LOG" >"$LOG.txt"
step qemu-boot-load-unload
sed -n '/^=== dmesg begin/,/^=== dmesg end/p' "$LOG.txt" | sed '1d;$d' >"$OUT/vm-dmesg.txt"
# (SeaBIOS's escape sequences may precede the first line.)
grep -o '=== .*' "$LOG.txt" | grep -v '^=== dmesg' || true
echo "kernel log, cloudnic lines:"
grep -iE 'cloudnic|ena |mana ' "$OUT/vm-dmesg.txt" | sed 's/^/    /' | head -n 60 || true
if [ "$rc" != 0 ] || ! grep -q '^=== RESULT: PASS' "$LOG.txt"; then
  echo "---- full kernel log ----"
  if [ -s "$OUT/vm-dmesg.txt" ]; then cat "$OUT/vm-dmesg.txt"; else tail -n 200 "$LOG.txt"; fi
  [ "$rc" = 124 ] && die "QEMU timed out after ${CLOUDNIC_VM_TIMEOUT:-300} s (console log: $LOG.txt)"
  die "vm-test failed (qemu rc=$rc; console log: $LOG.txt)"
fi
echo "vm-test: PASS ($KREL)"
