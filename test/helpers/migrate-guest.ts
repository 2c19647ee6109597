/** The counter guest (vctl.counter=MS) of the migration tests: its last COUNT line, waiting for it to grow. */
import {existsSync, readFileSync} from 'node:fs'

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
