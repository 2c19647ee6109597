#!/bin/sh
# Regenerates the reference data of test/devices-golden.test.ts from real tools (facts about
# libvirt 9.0 and QEMU's interface, kept as test data):
#   NAME.xml          the input: virt-install 4.1's --print-xml (uuid, MAC and name fixed), or hand-written
#   NAME.libvirt.xml  `virsh define NAME.xml; virsh dumpxml --inactive NAME` on libvirtd 9.0 (QEMU driver)
#   NAME.libvirt.args `virsh domxml-to-native qemu-argv NAME.xml`, one argument per line
# Usage: generate.sh URI   (URI of a private libvirtd, e.g. one started as bench/private-libvirtd.mjs
# does: qemu+unix:///system?socket=BASE/run/libvirt-sock). Only the .libvirt.* files of the existing
# NAME.xml inputs are rewritten unless VIRT_INSTALL=1 (then the virt-install inputs are regenerated).
set -eu
U=$1
cd "$(dirname "$0")"
if [ "${VIRT_INSTALL:-0}" = 1 ]; then
  # virt-install looks the disks up: give it small files (the tests never open them).
  mkdir -p /tmp/vctl-golden
  [ -f /tmp/vctl-golden/disk.qcow2 ] || qemu-img create -q -f qcow2 /tmp/vctl-golden/disk.qcow2 64M
  [ -f /tmp/vctl-golden/cd.iso ] || truncate -s 1M /tmp/vctl-golden/cd.iso
  i=0
  for m in pc q35; do for g in spice vnc; do
    i=$((i + 1))
    virt-install --connect "$U" --print-xml --memory 128 --import --osinfo detect=off,name=generic \
      --name "vi-$m-$g-generic" --disk none --machine $m --graphics $g --network user >"vi-$m-$g-generic.xml"
    virt-install --connect "$U" --print-xml --memory 128 --import --osinfo linux2022 \
      --name "vi-$m-$g-linux" --disk /tmp/vctl-golden/disk.qcow2 \
      --disk /tmp/vctl-golden/cd.iso,device=cdrom --machine $m --graphics $g --network user >"vi-$m-$g-linux.xml"
    k=0
    for v in generic linux; do
      k=$((k + 1))
      sed -i -E "s#<uuid>.*</uuid>#<uuid>00000000-0000-4000-8000-0000000000$i$k</uuid>#; s#mac address=\"[^\"]*\"#mac address=\"52:54:00:00:00:$i$k\"#" "vi-$m-$g-$v.xml"
    done
  done; done
fi
for f in *.xml; do
  case $f in *.libvirt.xml) continue ;; esac
  n=${f%.xml}
  name=$(sed -n 's#.*<name>\(.*\)</name>.*#\1#p' "$f" | head -1)
  virsh -c "$U" define "$f" >/dev/null
  virsh -c "$U" dumpxml --inactive "$name" >"$n.libvirt.xml"
  virsh -c "$U" undefine "$name" >/dev/null
  virsh -c "$U" domxml-to-native qemu-argv "$f" | python3 -c 'import shlex,sys; a=shlex.split(sys.stdin.read()); i=next(k for k,x in enumerate(a) if x.startswith("/")); print("\n".join(a[i:]))' >"$n.libvirt.args"
done
