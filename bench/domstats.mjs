#!/usr/bin/env node
// `virsh domstats` over 100 guests (4 running tiny guests with a disk and a NIC, 96 defined), for
// vctl's virtqemud and for Debian's real libvirtd (qemu driver) in the same run, same XML, same
// virsh: all groups, and --state alone. Rounds alternate between the daemons; medians are printed.
import {execFile} from 'node:child_process'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {promisify} from 'node:util'
import {INITRD, KERNEL, ensureTestGuest, median, msSince, printTable, sideBySide} from './harness.mjs'

ensureTestGuest()
const pexec = promisify(execFile)
const TOTAL = 100
const RUNNING = 4
const ROUNDS = 7

const virsh = (uri, ...args) => pexec('virsh', ['-c', uri, ...args], {timeout: 120000, maxBuffer: 64 << 20})

function guestXml(name, disk) {
  return `<domain type='qemu'><name>${name}</name><memory unit='MiB'>128</memory><vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><kernel>${KERNEL}</kernel><initrd>${INITRD}</initrd><cmdline>console=ttyS0 quiet</cmdline></os>
  <devices>
    <disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='${disk}'/><target dev='vdb' bus='virtio'/></disk>
    <interface type='user'><model type='virtio'/></interface>
    <memballoon model='virtio'><stats period='5'/></memballoon>
  </devices></domain>`
}

/** Defines TOTAL guests on a daemon and starts RUNNING of them. */
async function populate(uri, work) {
  for (let i = 0; i < TOTAL; i++) {
    const disk = join(work, `disk${i}.img`)
    writeFileSync(disk, Buffer.alloc(1 << 20))
    const xml = join(work, `g${i}.xml`)
    writeFileSync(xml, guestXml(`bench-g${i}`, disk))
    await virsh(uri, 'define', xml)
  }
  for (let i = 0; i < RUNNING; i++) await virsh(uri, 'start', `bench-g${i}`)
}

async function destroyAll(uri) {
  for (let i = 0; i < RUNNING; i++) await virsh(uri, 'destroy', `bench-g${i}`).catch(() => undefined)
}

async function timed(uri, args) {
  const t0 = process.hrtime.bigint()
  const r = await virsh(uri, ...args)
  return {ms: msSince(t0), domains: (r.stdout.match(/^Domain: /gm) ?? []).length}
}

const cases = [
  ['virsh domstats, all groups, 100 guests (ms)', ['domstats']],
  ['virsh domstats --state, 100 guests (ms)', ['domstats', '--state']],
  ['virsh domstats --block --interface (ms)', ['domstats', '--block', '--interface']],
]
const results = await sideBySide(
  'bench-d',
  async (ours, theirs) => {
    const results = {}
    await Promise.all([populate(ours.uri, ours.work), populate(theirs.uri, theirs.work)])
    for (const [label, args] of cases) {
      const a = []
      const b = []
      for (let i = 0; i < ROUNDS; i++) {
        const x = await timed(ours.uri, args)
        const y = await timed(theirs.uri, args)
        if (x.domains !== TOTAL || y.domains !== TOTAL) throw new Error(`${label}: ${x.domains} / ${y.domains} domains listed`)
        a.push(x.ms)
        b.push(y.ms)
      }
      results[label] = {a, b}
    }
    return results
  },
  {beforeStop: destroyAll},
)
printTable(
  `figure (median of ${ROUNDS}, alternating)`,
  Object.entries(results).map(([label, r]) => [label, median(r.a), median(r.b)]),
  Object.fromEntries(Object.entries(results).map(([k, r]) => [k, {vctl: r.a, libvirtd: r.b}])),
)
