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
  # networks: bridges, DHCP/DNS, firewall (iptables: what real libvirtd uses in bench/network.mjs)
  dnsmasq-base nftables iptables
  # storage: disk and fs pools
  parted dosfstools e2fsprogs
  # the graphical clients the acceptance tests drive: virt-manager under Xvfb, cockpit-machines
  # through libvirt-dbus in headless Chromium
  virt-manager xvfb xauth x11-apps imagemagick python3-gi gir1.2-gtk-vnc-2.0 gir1.2-spiceclientgtk-3.0
  python3-dogtail at-spi2-core gir1.2-atspi-2.0 dbus-x11
  cockpit-ws cockpit-bridge cockpit-machines libvirt-dbus dbus chromium
  # the real-systemd tests: a Debian root file system booted with systemd-nspawn (scripts/build-systemd-root.sh)
  mmdebstrap systemd-container util-linux
  # remote access: an sshd the SSH-transport tests start privately; cyrus-sasl's SCRAM/DIGEST-MD5 plug-ins
  # (virsh's side of SASL) and saslpasswd2 for the side-by-side runs against real libvirtd
  openssh-server netcat-openbsd libsasl2-modules sasl2-bin
  # the fleet test: Ansible (7.x bundles the community collections, community.libvirt among them) across three vctl hosts; lxml for its virt_net module
  ansible python3-lxml
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
