/**
 * Where the storage driver keeps pools on disk, as libvirt does: persistent definitions in
 * `configDir/NAME.xml`, autostart links in `autostartDir/NAME.xml`, and the live definition of each
 * active pool in `runDir/NAME.xml` (so a restarted daemon knows which pools were running). Every
 * write is atomic (fs-atomic.ts); temp files of an interrupted write are removed at load.
 */
import * as fs from 'node:fs'
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'

import {formatPoolXml, parsePoolXml, type PoolDef} from '../../conf/pool.js'
import {removeStaleTempFiles, writeFileAtomic} from '../../fs-atomic.js'
import type {LogSink} from '../types.js'

export interface PoolStoreDirs {
  configDir: string
  autostartDir: string
  runDir: string
}

export interface LoadedPool {
  def: PoolDef
  persistent: boolean
  autostart: boolean
  /** Whether a live state file says it was running. */
  wasActive: boolean
}

/** The definition as written to disk: no sizes, no live permissions. */
function persistXml(def: PoolDef): string {
  return formatPoolXml({...def, capacity: 0, allocation: 0, available: 0, targetPerms: undefined})
}

export class PoolStore {
  constructor(
    readonly dirs: PoolStoreDirs,
    private readonly log?: Pick<LogSink, 'warn'>,
  ) {
    for (const d of [dirs.configDir, dirs.autostartDir, dirs.runDir]) {
      fs.mkdirSync(d, {recursive: true, mode: 0o700})
      removeStaleTempFiles(d)
    }
  }

  private configFile(name: string): string {
    return join(this.dirs.configDir, `${name}.xml`)
  }

  private autostartLink(name: string): string {
    return join(this.dirs.autostartDir, `${name}.xml`)
  }

  private stateFile(name: string): string {
    return join(this.dirs.runDir, `${name}.xml`)
  }

  private readDefs(dir: string): PoolDef[] {
    let files: string[]
    try {
      files = fs.readdirSync(dir)
    } catch {
      return []
    }
    const out: PoolDef[] = []
    for (const f of files.sort()) {
      if (!f.endsWith('.xml')) continue
      const path = join(dir, f)
      try {
        if (!fs.statSync(path).isFile()) continue
        const def = parsePoolXml(fs.readFileSync(path, 'utf8'), {docName: path})
        if (`${def.name}.xml` !== f) {
          this.log?.warn(`Storage pool config filename '${path}' does not match pool name '${def.name}'`)
          continue
        }
        out.push(def)
      } catch (err) {
        this.log?.warn(`Failed to load storage pool config '${path}': ${(err as Error).message}`)
      }
    }
    return out
  }

  /** Every pool on disk: persistent definitions, and the live state of pools that were running (transient ones too). */
  load(): LoadedPool[] {
    const byName = new Map<string, LoadedPool>()
    for (const def of this.readDefs(this.dirs.configDir)) {
      byName.set(def.name, {def, persistent: true, autostart: fs.existsSync(this.autostartLink(def.name)), wasActive: false})
    }
    for (const live of this.readDefs(this.dirs.runDir)) {
      const p = byName.get(live.name)
      if (p) {
        p.wasActive = true
        p.def = live
      } else byName.set(live.name, {def: live, persistent: false, autostart: false, wasActive: true})
    }
    return [...byName.values()]
  }

  /** Whether any persistent definition exists (the default pool is only created on a blank config). */
  hasDefinitions(): boolean {
    try {
      return fs.readdirSync(this.dirs.configDir).some((f) => f.endsWith('.xml'))
    } catch {
      return false
    }
  }

  async saveConfig(def: PoolDef): Promise<void> {
    await writeFileAtomic(this.configFile(def.name), persistXml(def), 0o600)
  }

  async removeConfig(name: string): Promise<void> {
    await fsp.rm(this.autostartLink(name), {force: true})
    await fsp.rm(this.configFile(name), {force: true})
  }

  async setAutostart(name: string, on: boolean): Promise<void> {
    const link = this.autostartLink(name)
    await fsp.rm(link, {force: true})
    if (on) await fsp.symlink(this.configFile(name), link)
  }

  async saveState(def: PoolDef): Promise<void> {
    await writeFileAtomic(this.stateFile(def.name), persistXml(def), 0o600)
  }

  async removeState(name: string): Promise<void> {
    await fsp.rm(this.stateFile(name), {force: true})
  }
}
