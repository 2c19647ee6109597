#!/usr/bin/env bash
# build-test-guest.sh — builds a tiny QEMU test guest from Debian packages
# (downloaded with `apt-get download`, never installed) for vctl's tests.
#
# Outputs (git-ignored cache, rebuilt only when older than this script):
#   .cache/test-guest/vmlinuz            Debian cloud kernel (linux-image-6.1.0-*-cloud-amd64)
#   .cache/test-guest/initramfs.cpio.gz  busybox-static + evdev.ko + button.ko + /init
#
# Guest protocol, on the serial console (ttyS0):
#   prints "VCTL-GUEST READY" once the ACPI "Power Button" input device is open,
#   then blocks until a power button press (QMP system_powerdown), prints
#   "VCTL-GUEST POWEROFF" and runs `poweroff -f` (ACPI S5: QEMU exits).
#   If no Power Button device appears within ~5 s it prints
#   "VCTL-GUEST ERROR: no Power Button input device" and sleeps forever.
#   A reset (QMP system_reset) reboots it and READY is printed again.
#   Right after READY an interactive busybox shell runs on ttyS0 (its controlling
#   tty, prompt "/ # ", ^C works), so that a line typed into the serial console
#   (virsh console) round-trips; it does not delay READY.
# Networking (only when the guest has a NIC, eth0; runs beside the protocol above, never delays READY):
#   virtio-net (virtio_pci.ko, virtio_net.ko and their dependencies from the same kernel package);
#   eth0 is brought up and `udhcpc` takes a DHCP lease, then the guest prints
#   "VCTL-GUEST IP <address> <router>" (and again on each renewal with a new address).
#   `vctl.ping=A,B,...` on the kernel command line: once it has a lease, the guest pings each address
#   once a second, forever, printing "VCTL-GUEST PING <address> OK" or "... FAIL" for each try.
# Disks and memory: virtio_blk and virtio_balloon are loaded. After READY the guest watches /sys/block
#   (every 0.2 s) and prints "VCTL-GUEST BLK + vdb <sectors>" when a disk appears (hotplug) and
#   "VCTL-GUEST BLK - vdb" when one goes (detach); disks present at READY are listed once the same way.
# Counter: `vctl.counter=MS` on the kernel command line makes the guest print "VCTL-GUEST COUNT <n>"
#   every MS milliseconds (n = 1, 2, ... from boot), forever; a guest that is saved/restored or
#   migrated keeps counting from where it was (a reboot starts again at 1, after a new READY).
#
# Recommended QEMU arguments (QEMU 7.2 on Debian 12, TCG, no KVM):
#   qemu-system-x86_64 -machine pc -accel tcg -m 128 -nodefaults -no-user-config
#     -display none -serial file:LOG -kernel vmlinuz -initrd initramfs.cpio.gz
#     -append 'console=ttyS0 quiet panic=-1 cryptomgr.notests'
#   -machine q35 works equally well (same timings). cryptomgr.notests skips the
#   crypto self-tests (~0.3-0.4 s under TCG); mitigations=off/nokaslr gain nothing
#   measurable. Do NOT use acpi=off (no Power Button, no ACPI poweroff).
#   -no-reboot: QEMU 7.2 then treats QMP system_reset as a shutdown and exits;
#   leave it out if tests need system_reset to reboot the guest.
# Measured (2-CPU host, TCG, 128 MiB), wall clock from QEMU spawn:
#   cold boot to READY ~1.5-2.1 s (mean ~1.7 s; ~2.0 s without cryptomgr.notests);
#   system_powerdown -> POWEROFF ~10-17 ms, QEMU exit ~20-50 ms;
#   system_reset -> READY again ~4.2 s (the decompressor is much slower
#   after a reset under TCG, presumably TCG self-modifying-code handling).
# Memory: 128 MiB recommended; 80 MiB still boots; 64 MiB does NOT boot (no
#   serial output at all, dies before the kernel prints anything).
# A power button press sent before READY (before button.ko is loaded and the
# event device is open) is lost: wait for READY before system_powerdown.
set -euo pipefail

SCRIPT="$(readlink -f "${BASH_SOURCE[0]}")"
ROOT="$(cd "$(dirname "$SCRIPT")/.." && pwd)"
OUT="$ROOT/.cache/test-guest"
VMLINUZ="$OUT/vmlinuz"
INITRD="$OUT/initramfs.cpio.gz"
WANT_MODULES=(evdev button virtio_pci virtio_net virtio_blk virtio_balloon)

up_to_date() {
  [[ -s "$VMLINUZ" && -s "$INITRD" && "$VMLINUZ" -nt "$SCRIPT" && "$INITRD" -nt "$SCRIPT" ]]
}

if up_to_date; then
  echo "$VMLINUZ"; echo "$INITRD"; exit 0
fi

mkdir -p "$OUT"
# Serialize concurrent builds (e.g. parallel test workers).
exec 9>"$OUT/.lock"
flock 9
if up_to_date; then
  echo "$VMLINUZ"; echo "$INITRD"; exit 0
fi

log() { echo "build-test-guest: $*" >&2; }

if ! command -v cpio >/dev/null 2>&1; then
  log "cpio missing; running install-system-deps.sh"
  bash "$ROOT/scripts/install-system-deps.sh"
fi

TMP="$(mktemp -d "${TMPDIR:-/tmp}/vctl-test-guest.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT

# apt-get as root otherwise warns that the _apt sandbox user cannot write $TMP.
APT_OPTS=()
[[ $(id -u) -eq 0 ]] && APT_OPTS=(-o APT::Sandbox::User=root)

updated=0
apt_update_once() {
  if ((updated == 0)); then
    log "running apt-get update"
    apt-get update -qq
    updated=1
  fi
}

resolve_kernel_pkg() {
  apt-cache depends linux-image-cloud-amd64 2>/dev/null |
    awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9].*-cloud-amd64$/ { print $2; exit }'
}

download() { # download PKG into $TMP, retrying once after apt-get update
  (cd "$TMP" && apt-get "${APT_OPTS[@]}" download -qq "$1" >/dev/null 2>&1) && return 0
  apt_update_once
  (cd "$TMP" && apt-get "${APT_OPTS[@]}" download -qq "$1" >/dev/null)
}

# ---- 1. kernel ---------------------------------------------------------------
KPKG="$(resolve_kernel_pkg)"
if [[ -z "$KPKG" ]]; then
  apt_update_once
  KPKG="$(resolve_kernel_pkg)"
fi
[[ -n "$KPKG" ]] || { log "cannot resolve linux-image-cloud-amd64's kernel package"; exit 1; }
log "kernel package: $KPKG"
download "$KPKG"
mkdir -p "$TMP/k"
dpkg-deb -x "$TMP/$KPKG"_*.deb "$TMP/k"

KVMLINUZ="$(ls "$TMP"/k/boot/vmlinuz-* | head -n1)"
MODDIR="$(ls -d "$TMP"/k/lib/modules/*/ | head -n1)"
MODDIR="${MODDIR%/}"

# ---- 2. busybox --------------------------------------------------------------
download busybox-static
mkdir -p "$TMP/bb"
dpkg-deb -x "$TMP"/busybox-static_*.deb "$TMP/bb"
BUSYBOX="$TMP/bb/bin/busybox"
[[ -x "$BUSYBOX" ]] || { log "busybox-static has no bin/busybox"; exit 1; }

# ---- 3. initramfs ------------------------------------------------------------
R="$TMP/root"
mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,lib/modules}
install -m 0755 "$BUSYBOX" "$R/bin/busybox"
# Applet symlinks at build time (saves a `busybox --install` at every boot).
while read -r applet; do
  [[ "$applet" == /bin/busybox ]] && continue
  mkdir -p "$R$(dirname "$applet")"
  ln -sf /bin/busybox "$R$applet"
done < <("$BUSYBOX" --list-full | sed 's|^|/|')
# Kernel opens /dev/console for init's stdio before /init mounts devtmpfs.
if [[ $(id -u) -eq 0 ]]; then
  mknod -m 0600 "$R/dev/console" c 5 1
  mknod -m 0666 "$R/dev/null" c 1 3
fi

# Modules: skip built-ins, pull in dependencies (modules.dep if shipped, else
# the module's own "depends=" modinfo field), load in dependency order.
declare -A MOD_DONE=()
LOAD_ORDER=()
is_builtin() { grep -qE "(^|/)$1\.ko$" "$MODDIR/modules.builtin" 2>/dev/null; }
find_module() {
  # module names may use - or _ interchangeably
  local alt="${1//_/-}" alt2="${1//-/_}"
  find "$MODDIR/kernel" \( -name "$1.ko*" -o -name "$alt.ko*" -o -name "$alt2.ko*" \) -print -quit
}
module_deps() { # name of decompressed .ko file -> dependency names
  local name="$1" ko="$2" line
  if [[ -s "$MODDIR/modules.dep" ]]; then
    line="$(grep -E "(^|/)$name\.ko(\.[a-z]+)?:" "$MODDIR/modules.dep" | head -n1 || true)"
    for d in ${line#*:}; do d="${d##*/}"; echo "${d%%.ko*}"; done
  else
    tr '\0' '\n' <"$ko" | sed -n 's/^depends=//p' | tr ',' '\n' | sed '/^$/d'
  fi
}
add_module() {
  local name="$1" src ko
  [[ -n "${MOD_DONE[$name]:-}" ]] && return 0
  MOD_DONE[$name]=1
  if is_builtin "$name"; then
    log "module $name is built into the kernel; skipping"
    return 0
  fi
  src="$(find_module "$name")"
  [[ -n "$src" ]] || { log "module $name not found under $MODDIR/kernel"; exit 1; }
  ko="$R/lib/modules/$name.ko"
  case "$src" in
    *.ko.xz) xz -dc "$src" >"$ko" ;;
    *.ko.zst) zstd -qdc "$src" >"$ko" ;;
    *.ko.gz) gzip -dc "$src" >"$ko" ;;
    *.ko) cp "$src" "$ko" ;;
    *) log "unknown module format: $src"; exit 1 ;;
  esac
  local d
  for d in $(module_deps "$name" "$ko"); do add_module "$d"; done
  LOAD_ORDER+=("$name")
}
for m in "${WANT_MODULES[@]}"; do add_module "$m"; done
log "modules to load: ${LOAD_ORDER[*]:-(none)}"

cat >"$R/init" <<EOF
#!/bin/busybox sh
# vctl test guest init (generated by scripts/build-test-guest.sh)
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
for m in ${LOAD_ORDER[*]}; do
  insmod /lib/modules/\$m.ko || echo "VCTL-GUEST WARNING: insmod \$m failed"
done
EOF
cat >>"$R/init" <<'EOF'
con=/dev/ttyS0
[ -c "$con" ] || con=/dev/console

find_power_button() {
  for n in /sys/class/input/event*; do
    [ -r "$n/device/name" ] || continue
    if [ "$(cat "$n/device/name")" = "Power Button" ]; then
      echo "/dev/input/${n##*/}"
      return 0
    fi
  done
  return 1
}

dev=""
i=0
while [ $i -lt 50 ]; do                 # up to ~5 s
  dev="$(find_power_button)" && [ -c "$dev" ] && break
  dev=""
  i=$((i + 1))
  sleep 0.1
done

if [ -z "$dev" ]; then
  echo "VCTL-GUEST ERROR: no Power Button input device" >"$con"
  while :; do sleep 3600; done
fi

# Networking in the background (see the header): lease, then the optional ping loop.
mkdir -p /etc /var/run
cat >/etc/udhcpc.script <<'SCRIPT'
#!/bin/sh
case "$1" in
  bound|renew)
    ip addr flush dev "$interface"
    ip addr add "$ip/${mask:-24}" dev "$interface"
    [ -n "$router" ] && ip route replace default via "${router%% *}" dev "$interface"
    echo "VCTL-GUEST IP $ip ${router%% *}" >/dev/ttyS0
    echo "$ip" >/var/run/lease
    ;;
esac
SCRIPT
chmod 0755 /etc/udhcpc.script
net_up() {
  ip link set lo up
  i=0
  while [ ! -d /sys/class/net/eth0 ] && [ $i -lt 30 ]; do sleep 0.1; i=$((i + 1)); done
  [ -d /sys/class/net/eth0 ] || return 0
  ip link set eth0 up
  udhcpc -i eth0 -s /etc/udhcpc.script -t 20 -T 1 -A 1 -b >/dev/null 2>&1
  targets="$(sed -n 's/.*vctl\.ping=\([^ ]*\).*/\1/p' /proc/cmdline | tr ',' ' ')"
  [ -n "$targets" ] || return 0
  while [ ! -s /var/run/lease ]; do sleep 0.2; done
  while :; do
    for t in $targets; do
      if ping -c 1 -W 1 "$t" >/dev/null 2>&1; then echo "VCTL-GUEST PING $t OK" >"$con"; else echo "VCTL-GUEST PING $t FAIL" >"$con"; fi
    done
    sleep 1
  done
}
net_up &

# Block device watcher (hotplug tests) and the optional counter (save/restore, migration tests).
blk_watch() {
  old=""
  while :; do
    now="$(ls /sys/block 2>/dev/null | grep -v -e '^loop' -e '^ram' | tr '\n' ' ')"
    for d in $now; do
      case " $old " in *" $d "*) ;; *) echo "VCTL-GUEST BLK + $d $(cat /sys/block/$d/size 2>/dev/null)" >"$con" ;; esac
    done
    for d in $old; do
      case " $now " in *" $d "*) ;; *) echo "VCTL-GUEST BLK - $d" >"$con" ;; esac
    done
    old="$now"
    sleep 0.2
  done
}
counter() {
  ms="$(sed -n 's/.*vctl\.counter=\([0-9]*\).*/\1/p' /proc/cmdline)"
  [ -n "$ms" ] || return 0
  n=0
  while :; do
    n=$((n + 1))
    echo "VCTL-GUEST COUNT $n" >"$con"
    usleep $((ms * 1000))
  done
}

# Open the event device before announcing READY so that a power button press
# sent right after READY is queued by evdev and not lost.
exec 3<"$dev"
echo "VCTL-GUEST READY" >"$con"
blk_watch &
counter &
# The power button watcher runs in the background...
(
  dd bs=24 count=1 <&3 >/dev/null 2>&1
  echo "VCTL-GUEST POWEROFF" >"$con"
  poweroff -f
) &
exec 3<&-
# ...and a shell on the serial console in the foreground, for `virsh console` (respawned when it
# exits). Not started with '&': a background command of a non-interactive shell has SIGINT
# ignored, and then ^C would not reach it. setsid runs in place (init's child is no group
# leader), cttyhack makes ttyS0 its controlling tty.
if [ "$con" = /dev/ttyS0 ]; then
  while :; do
    setsid cttyhack sh -i </dev/ttyS0 >/dev/ttyS0 2>&1
    sleep 1
  done
fi
while :; do sleep 3600; done
EOF
chmod 0755 "$R/init"

(cd "$R" && find . -mindepth 1 | LC_ALL=C sort |
  cpio --quiet -o -H newc -R 0:0 | gzip -9 -n) >"$TMP/initramfs.cpio.gz"

# Fresh mtimes (dpkg-deb -x keeps the package's), atomic replace.
cp "$KVMLINUZ" "$OUT/.vmlinuz.tmp"
mv -f "$OUT/.vmlinuz.tmp" "$VMLINUZ"
cp "$TMP/initramfs.cpio.gz" "$OUT/.initramfs.tmp"
mv -f "$OUT/.initramfs.tmp" "$INITRD"
touch "$VMLINUZ" "$INITRD"
log "built from $KPKG"
echo "$VMLINUZ"
echo "$INITRD"
