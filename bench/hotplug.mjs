#!/usr/bin/env node
// Device hotplug latency on a running tiny guest: attach-disk (virtio, live) and detach-disk (until
// the call returns, which includes the guest letting go of the disk), for vctl's virtqemud and for
// Debian's real libvirtd (qemu driver) in the same run, same XML, same libvirt-python client,
// alternating rounds, medians.
import {execFileSync} from 'node:child_process'
import {INITRD, KERNEL, ensureTestGuest, printTable, sideBySide} from './harness.mjs'

const ROUNDS = 7
ensureTestGuest()

// The client: one guest per daemon, then ROUNDS alternating attach/detach pairs on each.
const CLIENT = `
import json, os, statistics, sys, time
import libvirt
kernel, initrd, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
sides = [(sys.argv[4], sys.argv[5]), (sys.argv[6], sys.argv[7])]
libvirt.registerErrorHandler(lambda *a: None, None)

def xml(work):
    return f"""<domain type='qemu'><name>hpbench</name><memory unit='MiB'>128</memory><vcpu>1</vcpu>
<os><type arch='x86_64' machine='pc'>hvm</type><kernel>{kernel}</kernel><initrd>{initrd}</initrd>
<cmdline>console=ttyS0 quiet panic=-1 cryptomgr.notests</cmdline></os><features><acpi/></features>
<devices><serial type='file'><source path='{work}/serial.log' append='on'/><target port='0'/></serial></devices></domain>"""

def wait_log(work, needle, count, timeout=120):
    end = time.time() + timeout
    while time.time() < end:
        try:
            if open(f'{work}/serial.log').read().count(needle) >= count:
                return
        except FileNotFoundError:
            pass
        time.sleep(0.02)
    raise SystemExit(f'{needle} x{count} not seen in {work}/serial.log')

doms = []
for uri, work in sides:
    c = libvirt.open(uri)
    with open(f'{work}/disk.img', 'wb') as f:
        f.truncate(16 << 20)
    d = c.defineXML(xml(work))
    d.create()
    doms.append((c, d, work))
for c, d, work in doms:
    wait_log(work, 'VCTL-GUEST READY', 1)

res = [{'attach': [], 'detach': []} for _ in doms]
for r in range(rounds):
    for i, (c, d, work) in enumerate(doms):
        disk = f"<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='{work}/disk.img'/><target dev='vdb' bus='virtio'/></disk>"
        t0 = time.perf_counter()
        d.attachDeviceFlags(disk, libvirt.VIR_DOMAIN_AFFECT_LIVE)
        res[i]['attach'].append((time.perf_counter() - t0) * 1000)
        wait_log(work, 'VCTL-GUEST BLK + vda', r + 1)
        t0 = time.perf_counter()
        d.detachDeviceFlags(disk, libvirt.VIR_DOMAIN_AFFECT_LIVE)
        res[i]['detach'].append((time.perf_counter() - t0) * 1000)
        wait_log(work, 'VCTL-GUEST BLK - vda', r + 1)
        # A removal libvirt left pending must be over before the next attach of vdb.
        end = time.time() + 30
        while 'vdb' in d.XMLDesc(0) and time.time() < end:
            time.sleep(0.02)
for c, d, work in doms:
    d.destroy()
    d.undefine()
print(json.dumps([{'attach_ms': statistics.median(x['attach']), 'detach_ms': statistics.median(x['detach']), 'raw': x} for x in res]))
`

const [a, b] = await sideBySide('bench-h', async (ours, theirs) => {
  const out = execFileSync('/usr/bin/python3', ['-c', CLIENT, KERNEL, INITRD, String(ROUNDS), ours.uri, ours.work, theirs.uri, theirs.work], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: 900000,
  })
  return JSON.parse(out)
})
printTable(
  `figure (median of ${ROUNDS}, alternating)`,
  [
    ['attach-disk, virtio, live (ms)', a.attach_ms, b.attach_ms],
    ['detach-disk, live, guest lets go (ms)', a.detach_ms, b.detach_ms],
  ],
  {vctl: a.raw, libvirtd: b.raw},
)
