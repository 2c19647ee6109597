/** Tiny test guests (scripts/build-test-guest.sh) as the graphical clients' tests define them. */
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {run} from '../helpers/daemon.js'
import {INITRD, KERNEL} from '../helpers/guest.js'
import type {SystemNamespace} from '../helpers/system-ns.js'

export interface UiGuest {
  /** `<devices>` children beyond the emulator. */
  devices?: string
  /** Kernel command line; the default keeps the kernel's boot messages on ttyS0. */
  cmdline?: string
  machine?: 'pc' | 'q35'
}

export const SERIAL_PTY = `<serial type='pty'><target port='0'/></serial>
    <console type='pty'><target type='serial' port='0'/></console>`
export const VNC = `<graphics type='vnc' autoport='yes' listen='127.0.0.1'><listen type='address' address='127.0.0.1'/></graphics>
    <video><model type='vga'/></video>`
export const SPICE = `<graphics type='spice' autoport='yes'><listen type='address' address='127.0.0.1'/><image compression='off'/></graphics>
    <video><model type='qxl'/></video>`

export function serialFile(path: string): string {
  return `<serial type='file'><source path='${path}' append='on'/><target port='0'/></serial>`
}

export function qcow2Disk(path: string): string {
  return `<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${path}'/><target dev='vda' bus='virtio'/></disk>`
}

export function uiGuestXml(name: string, g: UiGuest = {}): string {
  return `<domain type='qemu'>
  <name>${name}</name>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='${g.machine ?? 'pc'}'>hvm</type>
    <kernel>${KERNEL}</kernel>
    <initrd>${INITRD}</initrd>
    <cmdline>${g.cmdline ?? 'console=ttyS0 panic=-1 cryptomgr.notests'}</cmdline>
  </os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <devices>
    ${g.devices ?? ''}
  </devices>
</domain>
`
}

/** Defines a guest through virsh in the namespace; throws with virsh's error. */
export async function defineGuest(ns: SystemNamespace, name: string, g: UiGuest = {}): Promise<void> {
  const file = join(ns.root, `${name}.xml`)
  writeFileSync(file, uiGuestXml(name, g))
  const r = await ns.virsh(['define', file])
  if (r.code !== 0) throw new Error(`define ${name}: ${r.stderr.trim()}`)
}

/** virsh in the namespace that must succeed; returns its trimmed stdout. */
export async function virshOk(ns: SystemNamespace, args: string[]): Promise<string> {
  const r = await ns.virsh(args, 120000)
  if (r.code !== 0) throw new Error(`virsh ${args.join(' ')}: ${r.stderr.trim()}`)
  return r.stdout.trim()
}

/** A fresh qcow2 image for snapshot tests. */
export async function makeQcow2(path: string, size = '16M'): Promise<void> {
  const r = await run('qemu-img', ['create', '-q', '-f', 'qcow2', path, size])
  if (r.code !== 0) throw new Error(`qemu-img create: ${r.stderr}`)
}

/**
 * Starts a guest (`--paused` in `extra`, ...). A VNC/spice port that another process on this shared
 * machine took between the daemon's check and QEMU's bind fails the start; that is retried once.
 */
export async function startGuest(ns: SystemNamespace, name: string, extra: string[] = []): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const r = await ns.virsh(['start', ...extra, name], 120000)
    if (r.code === 0) return
    if (attempt > 0 || !r.stderr.includes('Address already in use')) throw new Error(`virsh start ${name}: ${r.stderr.trim()}`)
  }
}
