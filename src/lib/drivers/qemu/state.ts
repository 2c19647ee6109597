/**
 * What the qemu driver keeps on disk:
 *
 *   CONFIGDIR/qemu/NAME.xml              persistent definitions (inactive XML), written atomically
 *   CONFIGDIR/qemu/autostart/NAME.xml    symlink to the definition when autostart is on
 *   RUNDIR/qemu/NAME.json                live status of a running guest (LiveStatus), written
 *                                        atomically on every state change, removed when it stops
 *   RUNDIR/qemu/NAME.monitor             the guest's QMP socket (QEMU creates it)
 *   LOGDIR/qemu/NAME.log                 QEMU's stdout/stderr plus our start/stop lines (written
 *                                        by virtlogd, with rollover, when it runs)
 *
 * The status file is JSON (not XML): a daemon starting up reads it to find the process again
 * (pid + /proc start time + `-name guest=NAME`) and its monitor.
 */
import * as fs from 'node:fs'
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'
import {randomBytes} from 'node:crypto'
import {writeFileAtomic} from '../../fs-atomic.js'
import type {DriverDirs} from '../types.js'
import type {LockdUse, LogdUse} from './logd-lockd.js'

export const STATUS_VERSION = 1

export interface LiveStatus {
  version: number
  name: string
  uuid: string
  id: number
  pid: number
  /** /proc/PID/stat field 22 when started: tells our QEMU from a later process reusing the pid. */
  pidStartTime: string
  monitor: string
  log: string
  /** Wall-clock start time (ms since the epoch). */
  startedAtMs: number
  /** 'starting' until the start request completed (a daemon dying mid-start leaves 'starting'). */
  phase: 'starting' | 'running'
  state: number
  reason: number
  persistent: boolean
  autostart: boolean
  /** The persistent definition was changed while running (isUpdated). */
  updated: boolean
  /** An ACPI reboot is in progress (QEMU's shutdown action is 'pause' until it completes). */
  rebootPending: boolean
  /** Live definition (with runtime details: pty paths, VNC port). */
  xml: string
  /** Ports allocated for graphics (index-aligned with the definition's graphics). */
  graphicsPorts: (number | undefined)[]
  argv: string[]
  /** The logs that go through virtlogd (closed there when the guest is gone). */
  logd?: LogdUse
  /** The disk locks held in virtlockd (released when the guest is gone). */
  lockd?: LockdUse
}

export class QemuStateStore {
  readonly dirs: DriverDirs

  constructor(dirs: DriverDirs) {
    this.dirs = dirs
  }

  async init(): Promise<void> {
    await fsp.mkdir(this.dirs.configDir, {recursive: true, mode: 0o755})
    await fsp.mkdir(this.dirs.autostartDir, {recursive: true, mode: 0o755})
    await fsp.mkdir(this.dirs.runDir, {recursive: true, mode: 0o700})
    await fsp.mkdir(this.dirs.logDir, {recursive: true, mode: 0o700})
    await fsp.mkdir(this.dirs.stateDir, {recursive: true, mode: 0o755})
  }

  statusPath(name: string): string {
    return join(this.dirs.runDir, `${name}.json`)
  }

  configPath(name: string): string {
    return join(this.dirs.configDir, `${name}.xml`)
  }

  autostartPath(name: string): string {
    return join(this.dirs.autostartDir, `${name}.xml`)
  }

  logPath(name: string): string {
    return join(this.dirs.logDir, `${name}.log`)
  }

  /** The monitor socket path: NAME.monitor, or domain-ID.monitor when that would be too long for sun_path. */
  monitorPath(name: string, id: number): string {
    const byName = join(this.dirs.runDir, `${name}.monitor`)
    if (Buffer.byteLength(byName) <= 107) return byName
    return join(this.dirs.runDir, `domain-${id}.monitor`)
  }

  async writeStatus(st: LiveStatus): Promise<void> {
    await writeFileAtomic(this.statusPath(st.name), JSON.stringify(st, null, 1) + '\n', 0o600)
  }

  async removeStatus(name: string): Promise<void> {
    await fsp.rm(this.statusPath(name), {force: true})
  }

  /** Every status file in the run dir (unreadable ones come back with `error`). */
  async readAllStatus(): Promise<{file: string; status?: LiveStatus; error?: string}[]> {
    let names: string[]
    try {
      names = await fsp.readdir(this.dirs.runDir)
    } catch {
      return []
    }
    const out: {file: string; status?: LiveStatus; error?: string}[] = []
    for (const n of names.sort()) {
      if (!n.endsWith('.json') || n.endsWith('.tmp')) continue
      const file = join(this.dirs.runDir, n)
      try {
        const st = JSON.parse(await fsp.readFile(file, 'utf8')) as LiveStatus
        if (st.version !== STATUS_VERSION || typeof st.name !== 'string' || typeof st.pid !== 'number') {
          out.push({file, error: 'unknown status file format'})
        } else out.push({file, status: st})
      } catch (err) {
        out.push({file, error: (err as Error).message})
      }
    }
    return out
  }

  async writeConfig(name: string, xml: string): Promise<void> {
    await writeFileAtomic(this.configPath(name), xml, 0o600)
  }

  async removeConfig(name: string): Promise<void> {
    await fsp.rm(this.configPath(name), {force: true})
    await this.setAutostart(name, false)
  }

  /** Persistent definitions: file name (without .xml) and content. */
  async readAllConfigs(): Promise<{name: string; file: string; xml?: string; error?: string}[]> {
    let names: string[]
    try {
      names = await fsp.readdir(this.dirs.configDir)
    } catch {
      return []
    }
    const out: {name: string; file: string; xml?: string; error?: string}[] = []
    for (const n of names.sort()) {
      if (!n.endsWith('.xml')) continue
      const file = join(this.dirs.configDir, n)
      try {
        const st = await fsp.stat(file)
        if (!st.isFile()) continue
        out.push({name: n.slice(0, -4), file, xml: await fsp.readFile(file, 'utf8')})
      } catch (err) {
        out.push({name: n.slice(0, -4), file, error: (err as Error).message})
      }
    }
    return out
  }

  isAutostart(name: string): boolean {
    try {
      fs.lstatSync(this.autostartPath(name))
      return true
    } catch {
      return false
    }
  }

  /** Creates (atomically: symlink beside, then rename) or removes the autostart link. */
  async setAutostart(name: string, on: boolean): Promise<void> {
    const link = this.autostartPath(name)
    if (!on) {
      await fsp.rm(link, {force: true})
      return
    }
    await fsp.mkdir(this.dirs.autostartDir, {recursive: true})
    const tmp = join(this.dirs.autostartDir, `.${name}.xml.${process.pid}.${randomBytes(4).toString('hex')}.tmp`)
    await fsp.symlink(this.configPath(name), tmp)
    try {
      await fsp.rename(tmp, link)
    } catch (err) {
      await fsp.rm(tmp, {force: true})
      throw err
    }
  }
}
