#!/usr/bin/env bash
# Builds the Debian 12 root file systems the real-systemd tests boot with systemd-nspawn
# (test/helpers/systemd-container.ts), cached in .cache/systemd-root/<variant>/:
#   base  systemd as PID 1, D-Bus, socat and libvirt-clients (the real virsh); no QEMU
#   qemu  base + QEMU (qemu-system-x86, qemu-utils) and Debian's libvirt 9.0 daemon, for the guest
#         tests and for the benchmark against the real libvirtd. Its libvirt units are disabled
#         in the image: a test enables what it needs.
# The packages come from the host's own apt sources, read at run time. A variant is rebuilt only
# when its package list (or this script's build steps) changes. Usage: build-systemd-root.sh [base|qemu|all]
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE=.cache/systemd-root
BASE_PKGS=(systemd systemd-sysv dbus socat libvirt-clients iproute2 procps)
QEMU_PKGS=(qemu-system-x86 qemu-utils libvirt-daemon libvirt-daemon-driver-qemu libvirt-daemon-system)
# Bump when the build steps below change in a way that needs a rebuild.
BUILD_STEPS=2

want=${1:-all}
case "$want" in base | qemu | all) ;; *)
  echo "usage: $0 [base|qemu|all]" >&2
  exit 2
  ;;
esac

sources() {
  # One `deb URI SUITE COMPONENT` line per index the host's apt knows (no mirror written here).
  apt-get indextargets --format '$(IDENTIFIER) $(TARGET_OF) $(REPO_URI) $(RELEASE) $(COMPONENT)' |
    awk '$1 == "Packages" && $2 == "deb" { print "deb " $3 " " $4 " " $5 }' | sort -u
}

build() {
  local variant=$1
  shift
  local pkgs=("$@")
  local dir="$CACHE/$variant"
  local stamp
  stamp=$(printf '%s\n' "steps=$BUILD_STEPS" "${pkgs[@]}" | sha256sum | cut -c1-16)
  if [ -f "$dir.stamp" ] && [ "$(cat "$dir.stamp")" = "$stamp" ] && [ -x "$dir/lib/systemd/systemd" ]; then
    return 0
  fi
  for tool in mmdebstrap systemd-nspawn; do
    command -v "$tool" >/dev/null || {
      echo "$tool is missing: run scripts/install-system-deps.sh" >&2
      exit 1
    }
  done
  local list
  list=$(sources)
  [ -n "$list" ] || {
    echo "no apt sources found (apt-get indextargets printed nothing): run apt-get update" >&2
    exit 1
  }
  echo "building the $variant systemd root file system in $dir (a few minutes)..." >&2
  local tmp="$dir.tmp"
  rm -rf "$tmp" "$dir.stamp"
  mkdir -p "$CACHE"
  local inc
  inc=$(
    IFS=,
    echo "${pkgs[*]}"
  )
  # Services installed by packages must not start inside the build chroot.
  printf '%s\n' "$list" | mmdebstrap --quiet --variant=minbase --include="$inc" \
    --customize-hook='echo -n > "$1/etc/machine-id"' \
    --customize-hook='echo vctl-systemd > "$1/etc/hostname"' \
    --customize-hook='rm -f "$1"/var/cache/apt/*.bin; rm -rf "$1"/var/lib/apt/lists/*' \
    bookworm "$tmp" - >&2
  if [ "$variant" = qemu ]; then
    # Debian's libvirt is there for the benchmark only: nothing of it starts at boot.
    local units=(libvirtd.service libvirtd.socket libvirtd-ro.socket libvirtd-admin.socket virtlogd.service virtlogd.socket
      virtlogd-admin.socket virtlockd.service virtlockd.socket virtlockd-admin.socket libvirt-guests.service)
    for u in "${units[@]}"; do systemctl --root="$tmp" disable "$u" >/dev/null 2>&1 || true; done
  fi
  rm -rf "$dir"
  mv "$tmp" "$dir"
  echo "$stamp" >"$dir.stamp"
}

# One build at a time (parallel test workers may ask for the same variant).
mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9
if [ "$want" = base ] || [ "$want" = all ]; then build base "${BASE_PKGS[@]}"; fi
if [ "$want" = qemu ] || [ "$want" = all ]; then build qemu "${BASE_PKGS[@]}" "${QEMU_PKGS[@]}"; fi
