/**
 * Each running guest's own cgroup, as libvirt gives one: with the host's cgroup v1 controllers (cpu,
 * cpuacct, cpuset, memory, blkio) QEMU's process goes to qemu-PID.vctl-qemu in each, and schedinfo,
 * memtune and blkiotune read and write its files. Like libvirt (virCgroupDetectPlacement), the
 * guest's cgroup is made relative to the daemon's own placement in each controller (read from
 * /proc/self/cgroup), so a daemon run inside a cgroup someone else manages (a container, a service
 * manager's memory cgroup) keeps its guests inside it.
 *
 * Unlike libvirt's shared `machine` partition, each guest's cgroup sits directly under that
 * placement. In cgroup v1 a partition with the default cpu.shares gives all guests together the CPU
 * weight of one task group: with the suite's many guests (and the kernel's autogroups, one per
 * session, for everything else) the guests then starved each other under load, which is why
 * placement was once opt-in. One cgroup per guest weighs as one session's autogroup, which is what
 * the guest had without a cgroup (it shared its daemon's session): booting three tiny guests at once
 * at load ~13 took the same time either way (11-14 s). Placement is on by default;
 * VCTL_GUEST_CGROUPS=0 in the daemon's environment turns it off.
 *
 * The name carries QEMU's pid, so it is found again after a daemon restart (from /proc/PID/cgroup)
 * and never clashes between daemons. Hosts without v1 controllers (or daemons without the right to
 * make cgroups) run guests without one; the tuning calls then answer as libvirt does without cgroups.
 */
import * as fs from 'node:fs'
import {join} from 'node:path'

const ROOT = '/sys/fs/cgroup'
export const CONTROLLERS = ['cpu', 'cpuacct', 'cpuset', 'memory', 'blkio'] as const
export type Controller = (typeof CONTROLLERS)[number]

const NAME = /^qemu-(\d+)\.vctl-qemu$/
const nameOf = (pid: number) => `qemu-${pid}.vctl-qemu`

/** Whether guests get cgroups (root only; VCTL_GUEST_CGROUPS=0 turns it off). */
export function guestCgroupsEnabled(): boolean {
  return process.getuid?.() === 0 && process.env.VCTL_GUEST_CGROUPS !== '0'
}

/** A process's cgroup path in one v1 controller ('/' for the root), from /proc/PID/cgroup. */
function placementOf(controller: Controller, pid: number | 'self'): string | undefined {
  let text: string
  try {
    text = fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8')
  } catch {
    return undefined
  }
  for (const line of text.split('\n')) {
    const [, ctrls, path] = line.split(':')
    if (ctrls?.split(',').includes(controller) && path !== undefined) return path
  }
  return undefined
}

/** Where the daemon makes its guests' cgroups in one controller. */
function baseDir(controller: Controller): string {
  return join(ROOT, controller, placementOf(controller, 'self') ?? '/')
}

/** Where a guest's cgroup lives in one controller, or undefined when it has none there. */
export function cgroupDir(controller: Controller, pid: number): string | undefined {
  const path = placementOf(controller, pid)
  if (path === undefined || path.split('/').pop() !== nameOf(pid)) return undefined
  const dir = join(ROOT, controller, path)
  return fs.existsSync(join(dir, 'cgroup.procs')) ? dir : undefined
}

function copyCpuset(from: string, to: string): void {
  for (const f of ['cpuset.cpus', 'cpuset.mems']) {
    const cur = fs.readFileSync(join(to, f), 'utf8').trim()
    if (cur === '') fs.writeFileSync(join(to, f), fs.readFileSync(join(from, f), 'utf8').trim())
  }
}

/** Removes the cgroups of guests whose QEMU is gone (a daemon stopped before it could clean up). */
export function sweepStale(): void {
  for (const c of CONTROLLERS) {
    const base = baseDir(c)
    let names: string[]
    try {
      names = fs.readdirSync(base)
    } catch {
      continue
    }
    for (const n of names) {
      const m = NAME.exec(n)
      if (m && !fs.existsSync(`/proc/${m[1]}`)) rmdir(join(base, n))
    }
  }
}

/** Moves QEMU (all its threads) into its own cgroup in each v1 controller; returns the ones it got. */
export function placeGuest(pid: number, warn: (msg: string) => void): Controller[] {
  sweepStale()
  const placed: Controller[] = []
  for (const c of CONTROLLERS) {
    const base = baseDir(c)
    if (!fs.existsSync(join(base, 'cgroup.procs'))) continue
    try {
      const dir = join(base, nameOf(pid))
      fs.mkdirSync(dir, {recursive: true})
      if (c === 'cpuset') copyCpuset(base, dir)
      fs.writeFileSync(join(dir, 'cgroup.procs'), String(pid))
      placed.push(c)
    } catch (err) {
      warn(`qemu: cannot place pid ${pid} in a ${c} cgroup: ${(err as Error).message}`)
    }
  }
  return placed
}

/** Removes a cgroup directory; false when it is still busy (the kernel has not let go of the last task yet). */
function rmdir(dir: string): boolean {
  try {
    fs.rmdirSync(dir)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'EBUSY'
  }
}

/**
 * Removes a guest's cgroups once its process is gone. A cgroup the kernel still counts a dying task
 * in (EBUSY) is tried again for a few seconds; one left after that goes at the next sweep.
 */
export async function removeGuest(pid: number, tries = 50, delayMs = 100): Promise<void> {
  let left = CONTROLLERS.map((c) => join(baseDir(c), nameOf(pid)))
  for (let i = 0; i < tries && left.length > 0; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, delayMs))
    left = left.filter((dir) => !rmdir(dir))
  }
}

export function readValue(controller: Controller, pid: number, file: string): string | undefined {
  const dir = cgroupDir(controller, pid)
  if (!dir) return undefined
  try {
    return fs.readFileSync(join(dir, file), 'utf8').trim()
  } catch {
    return undefined
  }
}

/** Writes one file of the guest's cgroup; false when the guest has no cgroup of that controller. */
export function writeValue(controller: Controller, pid: number, file: string, value: string): boolean {
  const dir = cgroupDir(controller, pid)
  if (!dir) return false
  fs.writeFileSync(join(dir, file), value)
  return true
}
