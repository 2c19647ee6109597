/**
 * The side-by-side script of the statistics tests: one tiny guest with a disk, a NIC and a balloon
 * with stats polling on a daemon, then the same virsh commands; returns each command's exit code
 * and output. Used by test/stats-libvirtd.test.ts against vctl and against the real libvirtd.
 */
import {existsSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {run, virsh, waitFor, type RunResult} from './daemon.js'
import {READY, guestXml, waitForLog} from './guest.js'

export interface CommandResult {
  cmd: string
  code: number
  out: string
}

export function statsGuestXml(name: string, dir: string, extra = ''): string {
  const disk = join(dir, `${name}-disk.img`)
  if (!existsSync(disk)) writeFileSync(disk, Buffer.alloc(8 * 1024 * 1024, 0x5a))
  return guestXml(
    name,
    join(dir, `${name}-serial.log`),
    `    <disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='${disk}'/><target dev='vdb' bus='virtio'/></disk>
    <interface type='user'><mac address='52:54:00:12:34:56'/><model type='virtio'/></interface>
    <memballoon model='virtio'><stats period='1'/></memballoon>
${extra}`,
  )
}

export async function startGuest(uri: string, name: string, dir: string, extra = ''): Promise<void> {
  const xmlFile = join(dir, `${name}.xml`)
  writeFileSync(xmlFile, statsGuestXml(name, dir, extra))
  const def = await virsh(uri, ['define', xmlFile])
  if (def.code !== 0) throw new Error(`define: ${def.stderr}`)
  const st = await virsh(uri, ['start', name], {timeout: 120000})
  if (st.code !== 0) throw new Error(`start: ${st.stderr}`)
  await waitForLog(join(dir, `${name}-serial.log`), READY, 1, 120000)
}

const clean = (r: RunResult) => `${r.stdout}${r.stderr}`.replace(/\n+$/, '')

export async function runAll(uri: string, cmds: string[][]): Promise<CommandResult[]> {
  const out: CommandResult[] = []
  for (const c of cmds) {
    const r = await virsh(uri, c, {timeout: 60000})
    out.push({cmd: c.join(' '), code: r.code, out: clean(r)})
  }
  return out
}

/** Waits until the balloon driver of the guest reports stats (the guest polled at least once). */
export async function waitBalloonStats(uri: string, name: string): Promise<void> {
  await waitFor('balloon stats', async () => (await virsh(uri, ['dommemstat', name])).stdout.includes('usable'), 90000)
}

export {run}
