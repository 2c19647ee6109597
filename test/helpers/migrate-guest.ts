/** The counter guest (vctl.counter=MS) of the migration tests: its last COUNT line, waiting for it to grow. */
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {spawn} from 'node:child_process'

import {join} from 'node:path'
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

/** `virsh event --all --loop` on `uri` until stop(), which returns what it printed. */
export function watchEvents(uri: string): {stop: () => Promise<string>} {
  const child = spawn('virsh', ['-c', uri, 'event', '--all', '--loop'], {stdio: ['ignore', 'pipe', 'ignore']})
  let out = ''
  child.stdout.on('data', (d: Buffer) => (out += d.toString()))
  return {
    stop: async () => {
      await new Promise((r) => setTimeout(r, 300))
      child.kill('SIGTERM')
      await new Promise((r) => child.once('exit', r))
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
