#!/usr/bin/env node
// Cost of the proxy hop: getVersion calls/s through virtproxyd -> virtqemud vs straight to
// virtqemud, with the same libvirt-python client in the same run (target: >= 0.7x).
import {execFileSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'

const ROOT = resolve(import.meta.dirname, '..')
const DUR = process.env.BENCH_SECONDS ?? '1.5'
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5)
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const root = mkdtempSync(join(tmpdir(), 'bench-proxy-'))
const start = (driver) => {
  execFileSync(process.execPath, [join(ROOT, 'bin/run.js'), 'daemon', 'start', '--driver', driver, '--root', root, '-d'], {stdio: 'ignore'})
  return Number(readFileSync(join(root, `run/virt${driver}d.pid`), 'utf8'))
}
const rate = (uri) =>
  Number(
    execFileSync(
      '/usr/bin/python3',
      [
        '-c',
        `
import libvirt, time, sys
c = libvirt.open(sys.argv[1])
for _ in range(500): c.getVersion()
n = 0; end = time.perf_counter() + float(sys.argv[2])
while time.perf_counter() < end:
    for _ in range(100): c.getVersion()
    n += 100
print(n / float(sys.argv[2]))
`,
        uri,
        DUR,
      ],
      {encoding: 'utf8'},
    ),
  )
const pids = [start('qemu'), start('proxy')]
try {
  // Alternating rounds, medians: one round is at the mercy of where the scheduler puts three
  // busy processes on few cores.
  const d = []
  const p = []
  for (let i = 0; i < ROUNDS; i++) {
    d.push(rate(`qemu+unix:///system?socket=${root}/run/libvirt/virtqemud-sock`))
    p.push(rate(`qemu+unix:///system?socket=${root}/run/libvirt/libvirt-sock`))
  }
  const direct = median(d)
  const proxied = median(p)
  console.log(`figure (median of ${ROUNDS} alternating rounds)`.padEnd(44), 'calls/s'.padStart(10))
  console.log('getVersion straight to virtqemud'.padEnd(44), direct.toFixed(0).padStart(10))
  console.log('getVersion via virtproxyd -> virtqemud'.padEnd(44), proxied.toFixed(0).padStart(10))
  console.log(`proxy/direct ratio: ${(proxied / direct).toFixed(2)}x (target >= 0.7x)`)
} finally {
  for (const p of pids.reverse())
    try {
      process.kill(p, 'SIGTERM')
    } catch {
      // already gone
    }
  await new Promise((r) => setTimeout(r, 500))
  rmSync(root, {recursive: true, force: true})
}
