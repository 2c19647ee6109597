/** The tiny test guest (scripts/build-test-guest.sh) and helpers to watch real QEMU guests. */
import {existsSync, readFileSync, readdirSync, readlinkSync} from 'node:fs'
import {join} from 'node:path'
import {ROOT_DIR} from './daemon.js'

export const KERNEL = join(ROOT_DIR, '.cache/test-guest/vmlinuz')
export const INITRD = join(ROOT_DIR, '.cache/test-guest/initramfs.cpio.gz')
export const READY = 'VCTL-GUEST READY'
export const POWEROFF = 'VCTL-GUEST POWEROFF'

/** Options of guestXml: `cmdline` is appended to the kernel command line (e.g. 'vctl.counter=100'). */
export interface GuestXmlOptions {
  cmdline?: string
  memoryMiB?: number
}

export function guestXml(name: string, serialLog: string, extra = '', opts: GuestXmlOptions = {}): string {
  const cmdline = `console=ttyS0 quiet panic=-1 cryptomgr.notests${opts.cmdline ? ` ${opts.cmdline}` : ''}`
  return `<domain type='qemu'>
  <name>${name}</name>
  <memory unit='MiB'>${opts.memoryMiB ?? 128}</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>${KERNEL}</kernel>
    <initrd>${INITRD}</initrd>
    <cmdline>${cmdline}</cmdline>
  </os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <serial type='file'>
      <source path='${serialLog}' append='on'/>
      <target port='0'/>
    </serial>
${extra}
  </devices>
</domain>
`
}

export function countInLog(file: string, needle: string): number {
  if (!existsSync(file)) return 0
  return readFileSync(file, 'utf8').split(needle).length - 1
}

export async function waitForLog(file: string, needle: string, count = 1, timeoutMs = 20000): Promise<number> {
  const start = Date.now()
  while (Date.now() - start < timeoutMs) {
    if (countInLog(file, needle) >= count) return Date.now() - start
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(
    `'${needle}' x${count} not seen in ${file} within ${timeoutMs} ms (log: ${existsSync(file) ? readFileSync(file, 'utf8').slice(-400) : 'missing'})`,
  )
}

/** Every QEMU process whose command line mentions `marker` (a test's unique root dir), with its guest name. */
function qemuProcessesUnder(marker: string): {pid: number; name: string}[] {
  const out: {pid: number; name: string}[] = []
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue
    let cmd: string[]
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
    } catch {
      continue
    }
    if (!cmd[0]?.includes('qemu-system') || !cmd.some((a) => a.includes(marker))) continue
    const nameArg = cmd[cmd.indexOf('-name') + 1] ?? ''
    const m = /guest=([^,]+)/.exec(nameArg)
    out.push({pid: Number(pid), name: m ? m[1] : `pid${pid}`})
  }
  return out
}

/** The paths a process has open (its /proc fd links; one closed meanwhile is skipped). */
export function openFiles(pid: number): string[] {
  const out: string[] = []
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      out.push(readlinkSync(`/proc/${pid}/fd/${fd}`))
    } catch {
      // closed meanwhile
    }
  }
  return out
}

/** PIDs of QEMU processes whose command line mentions `marker`, by guest name (one per name). */
export function qemuPidsUnder(marker: string): Map<string, number> {
  return new Map(qemuProcessesUnder(marker).map((p) => [p.name, p.pid]))
}

/** Kills the QEMU processes a test started under its own root (all of them, also two guests of one name). */
export function killGuestsUnder(marker: string): void {
  for (const {pid} of qemuProcessesUnder(marker)) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      // already gone
    }
  }
}
