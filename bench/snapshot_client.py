#!/usr/bin/python3
"""Snapshot latencies of running tiny guests through libvirt-python, two daemons measured in
alternation (so a load change on the machine hits both alike):
usage snapshot_client.py KERNEL INITRD URI_A WORKDIR_A URI_B WORKDIR_B."""
import json
import os
import statistics
import subprocess
import sys
import time

import libvirt

KERNEL, INITRD = sys.argv[1:3]
TARGETS = [(sys.argv[3], sys.argv[4]), (sys.argv[5], sys.argv[6])]
libvirt.registerErrorHandler(lambda *a: None, None)
ROUNDS = 7


def tiny(log, image):
    return f"""<domain type='qemu'><name>bench-snap</name><memory unit='MiB'>128</memory><vcpu>1</vcpu>
<os><type arch='x86_64' machine='pc'>hvm</type><kernel>{KERNEL}</kernel><initrd>{INITRD}</initrd>
<cmdline>console=ttyS0 quiet panic=-1 cryptomgr.notests</cmdline></os><features><acpi/></features>
<devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='{image}'/><target dev='vda' bus='virtio'/></disk>
<serial type='file'><source path='{log}'/><target port='0'/></serial></devices></domain>"""


def ms(t):
    return t * 1000.0


def boot(uri, work):
    conn = libvirt.open(uri)
    log = os.path.join(work, 'bench-snap.log')
    image = os.path.join(work, 'bench-snap.qcow2')
    subprocess.run(['qemu-img', 'create', '-f', 'qcow2', image, '64M'], check=True, stdout=subprocess.DEVNULL)
    dom = conn.defineXML(tiny(log, image))
    dom.create()
    deadline = time.time() + 60
    while not (os.path.exists(log) and 'VCTL-GUEST READY' in open(log, errors='replace').read()):
        if time.time() > deadline:
            raise SystemExit('guest never printed READY')
        time.sleep(0.05)
    # Warm-up: the first snapshot of an image allocates its clusters.
    dom.snapshotCreateXML('<domainsnapshot><name>warm</name></domainsnapshot>')
    return conn, dom


def main():
    guests = [boot(uri, work) for uri, work in TARGETS]
    out = [{'create_ms': [], 'revert_ms': []} for _ in guests]
    snaps = [[] for _ in guests]
    for i in range(ROUNDS):
        for g, (_, dom) in enumerate(guests):
            t0 = time.perf_counter()
            snaps[g].append(dom.snapshotCreateXML(f'<domainsnapshot><name>b{i}</name></domainsnapshot>'))
            out[g]['create_ms'].append(ms(time.perf_counter() - t0))
    for i in range(ROUNDS):
        for g, (_, dom) in enumerate(guests):
            t0 = time.perf_counter()
            dom.revertToSnapshot(snaps[g][i])
            out[g]['revert_ms'].append(ms(time.perf_counter() - t0))
            if dom.state()[0] != libvirt.VIR_DOMAIN_RUNNING:
                raise SystemExit('guest not running after revert')
    for g, (_, dom) in enumerate(guests):
        dom.destroy()
        for s in dom.listAllSnapshots():
            s.delete(libvirt.VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY)
        dom.undefine()
    print(json.dumps([{k: statistics.median(v) for k, v in o.items()} | {'raw': o} for o in out]))


main()
