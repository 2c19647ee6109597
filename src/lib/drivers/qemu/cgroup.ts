/**
 * Each running guest's own cgroup, as libvirt gives one: with the host's cgroup v1 controllers (cpu,
 * cpuacct, cpuset, memory, blkio) QEMU's process goes to qemu-PID.vctl-qemu in each, and schedinfo,
 * memtune and blkiotune read and write its files. Unlike libvirt's shared `machine` partition, each
 * guest's cgroup sits at the top of the hierarchy: in cgroup v1 a partition with the default
 * cpu.shares gives all guests together the CPU weight of one host process, which starves guests on a
 * busy host. For now placement is opt-in (VCTL_GUEST_CGROUPS=1 in the daemon's environment): with
 * every guest capped at one process's CPU weight, tiny guests booted too slowly for the suite's
 * timeouts on this loaded 2-core machine.
 * The name carries QEMU's pid, so it is found again after a daemon restart and never clashes between
 * daemons. Hosts without v1 controllers (or daemons without the right to make cgroups) run guests
 * without one; the tuning calls then answer as libvirt does without cgroups.
 */
import * as fs from 'node:fs'
import {join} from 'node:path'

const ROOT = '/sys/fs/cgroup'
export const CONTROLLERS = ['cpu', 'cpuacct', 'cpuset', 'memory', 'blkio'] as const
export type Controller = (typeof CONTROLLERS)[number]

/** Where a guest's cgroup lives in one controller, or undefined when it has none there. */
export function cgroupDir(controller: Controller, pid: number): string | undefined {
  const dir = join(ROOT, controller, `qemu-${pid}.vctl-qemu`)
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
    let names: string[]
    try {
      names = fs.readdirSync(join(ROOT, c))
    } catch {
      continue
    }
    for (const n of names) {
      const m = /^qemu-(\d+)\.vctl-qemu$/.exec(n)
      if (m && !fs.existsSync(`/proc/${m[1]}`)) removeGuest(Number(m[1]))
    }
  }
}

/** Moves QEMU (all its threads) into its own cgroup in each v1 controller; returns the ones it got. */
export function placeGuest(pid: number, warn: (msg: string) => void): Controller[] {
  sweepStale()
  const placed: Controller[] = []
  for (const c of CONTROLLERS) {
    const base = join(ROOT, c)
    if (!fs.existsSync(join(base, 'cgroup.procs'))) continue
    try {
      const dir = join(base, `qemu-${pid}.vctl-qemu`)
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

/** Removes a guest's cgroups once its process is gone. */
export function removeGuest(pid: number): void {
  for (const c of CONTROLLERS) {
    try {
      fs.rmdirSync(join(ROOT, c, `qemu-${pid}.vctl-qemu`))
    } catch {
      // not there, or not empty yet
    }
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
