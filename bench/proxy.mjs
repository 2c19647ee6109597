#!/usr/bin/env node
// Cost of the proxy hop: getVersion calls/s through virtproxyd -> virtqemud vs straight to
// virtqemud, with the same libvirt-python client in the same run (target: >= 0.7x), and the CPU
// each process spends per call (user + system time), which is what the ratio comes down to when
// the cores are busy.
import {execFileSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'

const ROOT = resolve(import.meta.dirname, '..')
const DUR = process.env.BENCH_SECONDS ?? '1.5'
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5)
const CLK_TCK = 100
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ')[0]
const root = mkdtempSync(join(tmpdir(), 'bench-proxy-'))
const start = (driver) => {
  execFileSync(process.execPath, [join(ROOT, 'bin/run.js'), 'daemon', 'start', '--driver', driver, '--root', root, '-d'], {stdio: 'ignore'})
  return Number(readFileSync(join(root, `run/virt${driver}d.pid`), 'utf8'))
}
/** CPU seconds (user + system) a process has used. */
const cpu = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return (Number(f[11]) + Number(f[12])) / CLK_TCK
}
const CLIENT = `
import libvirt, resource, sys, time
c = libvirt.open(sys.argv[1])
for _ in range(500): c.getVersion()
r0 = resource.getrusage(resource.RUSAGE_SELF)
n = 0; t0 = time.perf_counter(); end = t0 + float(sys.argv[2])
while time.perf_counter() < end:
    for _ in range(100): c.getVersion()
    n += 100
wall = time.perf_counter() - t0
r1 = resource.getrusage(resource.RUSAGE_SELF)
print(n, wall, r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime)
`
const qemud = start('qemu')
const proxyd = start('proxy')
/** One round: calls/s and CPU microseconds per call of the client, virtproxyd and virtqemud. */
const round = (uri) => {
  const q0 = cpu(qemud)
  const p0 = cpu(proxyd)
  const [n, wall, clientCpu] = execFileSync('/usr/bin/python3', ['-c', CLIENT, uri, DUR], {encoding: 'utf8'}).trim().split(' ').map(Number)
  const us = (s) => (s / n) * 1e6
  return {rate: n / wall, client: us(clientCpu), proxy: us(cpu(proxyd) - p0), qemud: us(cpu(qemud) - q0)}
}
const loads = [load()]
try {
  // Alternating rounds, medians: one round is at the mercy of where the scheduler puts three
  // busy processes on few cores.
  const d = []
  const p = []
  for (let i = 0; i < ROUNDS; i++) {
    d.push(round(`qemu+unix:///system?socket=${root}/run/libvirt/virtqemud-sock`))
    p.push(round(`qemu+unix:///system?socket=${root}/run/libvirt/libvirt-sock`))
  }
  loads.push(load())
  const m = (rs, k) => median(rs.map((r) => r[k]))
  const row = (label, rs) =>
    console.log(
      label.padEnd(40),
      m(rs, 'rate').toFixed(0).padStart(9),
      m(rs, 'client').toFixed(1).padStart(9),
      m(rs, 'proxy').toFixed(1).padStart(9),
      m(rs, 'qemud').toFixed(1).padStart(9),
    )
  console.log(
    `median of ${ROUNDS} alternating rounds of ${DUR} s; load average ${loads.join(' -> ')} on ${execFileSync('nproc').toString().trim()} cores`,
  )
  console.log('figure'.padEnd(40), 'calls/s'.padStart(9), 'client'.padStart(9), 'proxyd'.padStart(9), 'qemud'.padStart(9), ' (CPU us per call)')
  row('getVersion straight to virtqemud', d)
  row('getVersion via virtproxyd -> virtqemud', p)
  console.log(`proxy/direct ratio: ${(m(p, 'rate') / m(d, 'rate')).toFixed(2)}x (target >= 0.7x)`)
} finally {
  for (const pid of [proxyd, qemud])
    try {
      process.kill(pid, 'SIGTERM')
    } catch {
      // already gone
    }
  await new Promise((r) => setTimeout(r, 500))
  rmSync(root, {recursive: true, force: true})
}
