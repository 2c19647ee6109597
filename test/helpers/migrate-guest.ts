/** The counter guest (vctl.counter=MS) of the migration tests: its last COUNT line, waiting for it to grow. */
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {spawn} from 'node:child_process'

import {join} from 'node:path'
import {run} from './daemon.js'
import {guestXml, READY, waitForLog} from './guest.js'

export function lastCount(log: string): number {
  if (!existsSync(log)) return -1
  const all = [...readFileSync(log, 'utf8').matchAll(/VCTL-GUEST COUNT (\d+)/g)]
  return all.length ? Number(all[all.length - 1][1]) : -1
}

export async function waitCountAbove(log: string, n: number, timeoutMs = 60000): Promise<number> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const c = lastCount(log)
    if (c > n) return c
    if (Date.now() > deadline) throw new Error(`COUNT never went above ${n} in ${log} (last ${c})`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** What a host offers the migration tests (two-hosts.ts Host has it). */
interface HostLike {
  root: string
  uri: string
  virsh: (args: string[], timeout?: number) => Promise<{code: number; stdout: string; stderr: string}>
}

/** Starts the counter guest `name` on `h` (printing COUNT every 100 ms) and waits for it to count. */
export async function startCounter(h: HostLike, name: string, extra = ''): Promise<string> {
  const log = join(h.root, `${name}.log`)
  const xmlPath = join(h.root, `${name}.xml`)
  writeFileSync(xmlPath, guestXml(name, log, extra, {cmdline: 'vctl.counter=100'}))
  const r = await h.virsh(['create', xmlPath])
  if (r.code !== 0) throw new Error(`create: ${r.stderr}`)
  await waitForLog(log, READY, 1, 90000)
  await waitCountAbove(log, 3, 60000)
  return log
}

let probes = 0

/**
 * Defines and undefines a throw-away domain on `h` and waits until the watcher has printed its
 * Undefined event: events go out in order on one connection, so the watcher is registered (and has
 * printed every event before that) however slow the machine is.
 */
async function probeEvent(h: HostLike, printed: () => string): Promise<void> {
  const name = `evprobe-${process.pid}-${++probes}`
  const xmlPath = join(h.root, `${name}.xml`)
  writeFileSync(xmlPath, guestXml(name, join(h.root, `${name}.log`)))
  const deadline = Date.now() + 60000
  for (;;) {
    const def = await h.virsh(['define', xmlPath])
    if (def.code !== 0) throw new Error(`define ${name}: ${def.stderr}`)
    const undef = await h.virsh(['undefine', name])
    if (undef.code !== 0) throw new Error(`undefine ${name}: ${undef.stderr}`)
    // virsh may not have registered yet: the probe is repeated until one reaches it.
    for (let i = 0; i < 20; i++) {
      if (printed().includes(`'${name}': Undefined`)) return
      await new Promise((r) => setTimeout(r, 100))
    }
    if (Date.now() > deadline) throw new Error(`virsh event on ${h.uri} never printed the events of ${name}: ${printed()}`)
  }
}

/**
 * `virsh event --all --loop` on `h` until stop(), which returns what it printed. It is registered
 * when this resolves; stop() returns once every event before it has been printed. Both also print
 * the Defined and Undefined events of a throw-away domain named evprobe-*.
 */
export async function watchEvents(h: HostLike): Promise<{stop: () => Promise<string>}> {
  const child = spawn('virsh', ['-c', h.uri, 'event', '--all', '--loop'], {stdio: ['ignore', 'pipe', 'ignore'], env: {...process.env, LC_ALL: 'C'}})
  let out = ''
  child.stdout.on('data', (d: Buffer) => (out += d.toString()))
  const exited = new Promise((r) => child.once('exit', r))
  try {
    await probeEvent(h, () => out)
  } catch (err) {
    child.kill('SIGTERM')
    throw err
  }
  return {
    stop: async () => {
      try {
        await probeEvent(h, () => out)
      } finally {
        child.kill('SIGTERM')
        await exited
      }
      return out
    },
  }
}

/** Waits until `virsh domjobinfo` on `h` shows a running migration job; returns its output. */
export async function waitJob(h: HostLike, name: string, timeoutMs = 60000): Promise<string> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const r = await h.virsh(['domjobinfo', name])
    if (/Job type:\s+Unbounded/.test(r.stdout) && /Data processed:/.test(r.stdout)) return r.stdout
    if (Date.now() > deadline) throw new Error(`no migration job on ${name}: ${r.stdout}${r.stderr}`)
    await new Promise((res) => setTimeout(res, 100))
  }
}

/** A 16 MiB qcow2 image at `file`, with known content written by qemu-io commands (e.g. 'write -q -P 0xab 0 1M'). */
export async function qcow2Image(file: string, writes: string[]): Promise<string> {
  for (const args of [
    ['qemu-img', 'create', '-q', '-f', 'qcow2', file, '16M'],
    ['qemu-io', '-f', 'qcow2', ...writes.flatMap((w) => ['-c', w]), file],
  ]) {
    const r = await run(args[0], args.slice(1))
    if (r.code !== 0) throw new Error(`${args.join(' ')}: ${r.stderr}`)
  }
  return file
}

/** The second disk (vdb, virtio) of a migration test guest: the qcow2 image `file`. */
export const qcow2DiskXml = (file: string) =>
  `<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${file}'/><target dev='vdb' bus='virtio'/></disk>`
