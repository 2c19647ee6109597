#!/usr/bin/env node
// Save + restore round trip of the tiny running guest (128 MiB, TCG), vctl's virtqemud against
// Debian's real libvirtd (qemu driver) in the same run, same XML, same virsh: `virsh save` then
// `virsh restore`, timed each, alternating rounds.
import {execFileSync} from 'node:child_process'
import {readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {INITRD, KERNEL, ensureTestGuest, median, msSince, printTable, sideBySide, waitFor} from './harness.mjs'

const ROUNDS = Number(process.env.ROUNDS ?? 5)
ensureTestGuest()

const virsh = (uri, ...args) => execFileSync('virsh', ['-c', uri, ...args], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 300000})

function guestXml(serial) {
  return `<domain type='qemu'><name>bench-save</name><memory unit='MiB'>128</memory><vcpu>1</vcpu>
<os><type arch='x86_64' machine='pc'>hvm</type><kernel>${KERNEL}</kernel><initrd>${INITRD}</initrd>
<cmdline>console=ttyS0 quiet panic=-1 cryptomgr.notests vctl.counter=100</cmdline></os><features><acpi/></features>
<devices><serial type='file'><source path='${serial}' append='on'/><target port='0'/></serial></devices></domain>`
}

async function prepare(side) {
  side.serial = join(side.work, 'serial.log')
  side.file = join(side.work, 'bench.save')
  writeFileSync(side.serial, '')
  writeFileSync(join(side.work, 'g.xml'), guestXml(side.serial))
  virsh(side.uri, 'create', join(side.work, 'g.xml'))
  await waitFor(() => readFileSync(side.serial, 'utf8').includes('VCTL-GUEST COUNT 3'), `${side.name}: guest counting`)
  side.save = []
  side.restore = []
}

function round(side) {
  let t = process.hrtime.bigint()
  virsh(side.uri, 'save', 'bench-save', side.file)
  side.save.push(msSince(t))
  t = process.hrtime.bigint()
  virsh(side.uri, 'restore', side.file)
  side.restore.push(msSince(t))
  rmSync(side.file, {force: true})
}

const [a, b] = await sideBySide('bench-s', async (...sides) => {
  for (const s of sides) await prepare(s)
  for (let i = 0; i < ROUNDS; i++) for (const s of sides) round(s)
  for (const s of sides) virsh(s.uri, 'destroy', 'bench-save')
  return sides
})
printTable(
  `figure (median of ${ROUNDS}, alternating)`,
  [
    ['virsh save, running 128 MiB guest (ms)', median(a.save), median(b.save)],
    ['virsh restore of that file (ms)', median(a.restore), median(b.restore)],
  ],
  {vctl: {save: a.save, restore: a.restore}, libvirtd: {save: b.save, restore: b.restore}},
)
