#!/usr/bin/env node
// Snapshot latencies of a running tiny guest on a qcow2 disk: snapshot-create (memory and disk,
// internal) and snapshot-revert, for vctl's virtqemud and for Debian's real libvirtd (qemu
// driver) in the same run, same XML, same libvirt-python client (bench/snapshot_client.py).
import {execFileSync} from 'node:child_process'
import {join} from 'node:path'
import {INITRD, KERNEL, ROOT, ensureTestGuest, printTable, sideBySide} from './harness.mjs'

ensureTestGuest()
const [a, b] = await sideBySide('bench-s', async (ours, theirs) => {
  const out = execFileSync(
    '/usr/bin/python3',
    [join(ROOT, 'bench/snapshot_client.py'), KERNEL, INITRD, ours.uri, ours.work, theirs.uri, theirs.work],
    {encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 900000},
  )
  return JSON.parse(out)
})
printTable(
  'figure (median of 7, alternating)',
  [
    ['snapshot-create-as, running guest (ms)', a.create_ms, b.create_ms],
    ['snapshot-revert to a running snapshot (ms)', a.revert_ms, b.revert_ms],
  ],
  {vctl: a.raw, libvirtd: b.raw},
)
