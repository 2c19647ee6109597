#!/usr/bin/env node
// Socket activation under a real systemd: wall time from a client's connect() on libvirt-sock (the
// socket unit listening, the service not running) to the first answered call (AUTH_LIST,
// CONNECT_OPEN qemu:///system, CONNECT_GET_VERSION), for vctl's libvirtd vs Debian's libvirtd 9.0.
// Both run in the same real-systemd environment: a systemd-nspawn container of the QEMU variant
// (test/helpers/systemd-container.ts; one fresh container each), systemd 252 as PID 1, QEMU
// installed. The client runs inside the container (this file with --client: libvirtd refuses a
// peer from another PID namespace, whose pid it cannot read). Between
// runs the service is stopped (`systemctl stop libvirtd.service`, the socket stays). Both containers
// run at once and their activations alternate, so both daemons see the same load on a shared
// machine. The first run is cold (QEMU capabilities probed); the median is taken over the
// BENCH_ACTIVATION_RUNS (default 7) warm ones. Run with: node --import tsx bench/socket-activation.mjs
import {ROOT, alternating, firstAnswer, median} from './harness.mjs'

const RUNS = Number(process.env.BENCH_ACTIVATION_RUNS ?? 7)

if (process.argv[2] === '--client') {
  // Inside the container: one measurement, printed in ms.
  console.log((await firstAnswer(process.argv[3], 'qemu:///system', {timeoutMs: 60000})).toFixed(3))
  process.exit(0)
}

const {bootContainer} = await import('../test/helpers/systemd-container.ts')

/** One activation: the client's time, and the CPU the daemon (all its threads) has used when read just after it. */
async function activation(c) {
  if ((await c.sh('systemctl is-active libvirtd.service')).stdout.trim() !== 'inactive')
    throw new Error('libvirtd.service runs before the client connects')
  const ms = Number(await c.ok(`node ${ROOT}/bench/socket-activation.mjs --client /run/libvirt/libvirt-sock`))
  const cpu = Number(
    await c.ok('P=$(systemctl show -p MainPID --value libvirtd.service); cat /proc/$P/task/*/schedstat | awk \'{s+=$1} END {printf "%.1f", s/1e6}\''),
  )
  // reset-failed also clears the start counter: 8 activations in a few seconds would hit StartLimitBurst.
  await c.ok('systemctl stop libvirtd.service && systemctl reset-failed libvirtd.service libvirtd.socket')
  return {ms, cpu}
}

// Both containers at once, their activations alternating, so that both daemons see the same load.
const setups = {
  // Debian's libvirtd 9.0 through its own units (disabled in the image, started here).
  libvirtd: `mkdir -p /etc/libvirt && printf 'auth_unix_rw = "none"\\n' > /etc/libvirt/libvirtd.conf && systemctl start virtlogd.socket virtlockd.socket libvirtd.socket`,
  vctl: `node ${ROOT}/bin/run.js units install --force >/dev/null && systemctl start libvirtd.socket`,
}
const names = Object.keys(setups)
const boxes = await Promise.all(names.map((name) => bootContainer({variant: 'qemu', name: `vctl-bench-${name}-${process.pid}`})))
const runs = Object.fromEntries(names.map((n) => [n, []]))
try {
  await Promise.all(names.map((n, i) => boxes[i].ok(setups[n])))
  for (let r = 0; r <= RUNS; r++) {
    for (const i of alternating(r, [0, 1])) runs[names[i]].push(await activation(boxes[i]))
  }
} finally {
  await Promise.all(boxes.map((b) => b.stop()))
}

const results = names.map((name) => {
  const [cold, ...warm] = runs[name]
  const ms = warm.map((w) => w.ms)
  return {name, cold: cold.ms, median: median(ms), min: Math.min(...ms), max: Math.max(...ms), cpu: median(warm.map((w) => w.cpu))}
})
const f = (ms) => `${ms.toFixed(0)} ms`
console.log('socket activation: connect() on libvirt-sock -> first answered call (qemu:///system), real systemd 252 in systemd-nspawn')
console.log(
  `${'daemon'.padEnd(10)} ${'cold'.padStart(8)} ${'median'.padStart(8)} ${'min'.padStart(8)} ${'max'.padStart(8)} ${'CPU'.padStart(8)}  (warm runs: ${RUNS}, alternating; CPU: the daemon's, all threads, read just after the client's answer, median)`,
)
for (const r of results)
  console.log(
    `${r.name.padEnd(10)} ${f(r.cold).padStart(8)} ${f(r.median).padStart(8)} ${f(r.min).padStart(8)} ${f(r.max).padStart(8)} ${f(r.cpu).padStart(8)}`,
  )
const [real, ours] = results
console.log(`vctl / libvirtd (median): ${(ours.median / real.median).toFixed(2)}x (target: at most 1x)`)
