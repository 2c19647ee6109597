#!/usr/bin/env bash
# Installs the Debian 12 packages vctl's daemon, tests and benchmarks use.
# Idempotent: skips apt entirely when every package is already installed.
set -euo pipefail
PKGS=(
  qemu-system-x86 qemu-utils
  libvirt-clients
  libvirt-daemon libvirt-daemon-system
  python3-libvirt
  libxml2-utils
  socat systemd openssl iproute2 cpio busybox-static
)
missing=()
for p in "${PKGS[@]}"; do
  [[ "$p" == \#* ]] && continue
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive

  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
