#!/usr/bin/python3
"""Network driver latencies through libvirt-python, the same for vctl and libvirtd.

usage: network_client.py URI KERNEL INITRD WORKDIR ROUNDS
Prints JSON: net-start and net-destroy times (ms) of a NAT network with DHCP, and the time from
a guest's start to its DHCP lease (ms)."""
import json
import os
import sys
import time

import libvirt

uri, kernel, initrd, work, rounds = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
libvirt.registerErrorHandler(lambda *_: None, None)
conn = libvirt.open(uri)

NET = """<network>
  <name>benchnat</name>
  <forward mode='nat'/>
  <bridge name='vbench0'/>
  <ip address='192.168.177.1' netmask='255.255.255.0'>
    <dhcp><range start='192.168.177.100' end='192.168.177.199'/></dhcp>
  </ip>
</network>"""

GUEST = f"""<domain type='qemu'>
  <name>benchguest</name>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>{kernel}</kernel>
    <initrd>{initrd}</initrd>
    <cmdline>console=ttyS0 quiet panic=-1 cryptomgr.notests</cmdline>
  </os>
  <features><acpi/></features>
  <devices>
    <serial type='file'><source path='{work}/benchguest.log'/><target port='0'/></serial>
    <interface type='network'>
      <mac address='52:54:00:be:0c:01'/>
      <source network='benchnat'/>
      <model type='virtio'/>
    </interface>
  </devices>
</domain>"""

net = conn.networkDefineXML(NET)
start, destroy = [], []
for _ in range(rounds):
    t0 = time.perf_counter()
    net.create()
    t1 = time.perf_counter()
    net.destroy()
    t2 = time.perf_counter()
    start.append((t1 - t0) * 1000)
    destroy.append((t2 - t1) * 1000)

lease = []
net.create()
try:
    for _ in range(max(1, rounds // 10)):
        t0 = time.perf_counter()
        dom = conn.createXML(GUEST, 0)
        while not net.DHCPLeases("52:54:00:be:0c:01"):
            if time.perf_counter() - t0 > 120:
                raise SystemExit("no lease after 120 s")
            time.sleep(0.02)
        lease.append((time.perf_counter() - t0) * 1000)
        dom.destroy()
        # The next round must see a fresh lease: forget this one.
        net.destroy()
        for f in ("/var/lib/libvirt/dnsmasq/benchnat.leases", "/var/lib/libvirt/dnsmasq/vbench0.status"):
            if os.path.exists(f):
                os.unlink(f)
        leases = os.path.join(work, "var/lib/libvirt/network/dnsmasq/benchnat.leases")
        if os.path.exists(leases):
            os.unlink(leases)
        net.create()
finally:
    net.destroy()
    net.undefine()


def med(v):
    v = sorted(v)
    return v[len(v) // 2]


print(json.dumps({"start_ms": med(start), "destroy_ms": med(destroy), "lease_ms": med(lease), "rounds": rounds}))
