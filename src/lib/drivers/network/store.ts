/**
 * The network driver's files: persistent definitions (`configDir/NAME.xml`, written atomically),
 * autostart links (`autostartDir/NAME.xml` -> `../NAME.xml`) and the live state of each running
 * network (`runDir/NAME.json`: the running XML and its ports), from which a restarted daemon
 * reattaches.
 */
import {mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, existsSync, lstatSync} from 'node:fs'
import {join} from 'node:path'

import {formatNetworkXml, parseNetworkXml, type NetworkDef} from '../../conf/network.js'
import {formatNetworkPortXml, parseNetworkPortXml, type NetworkPortDef} from '../../conf/network-port.js'
import {writeFileAtomic} from '../../fs-atomic.js'
import type {DriverDirs, LogSink} from '../types.js'
import type {NetObj} from './context.js'

export function ensureDirs(dirs: DriverDirs): void {
  for (const d of [dirs.configDir, dirs.autostartDir, dirs.runDir, join(dirs.stateDir, 'dnsmasq')]) mkdirSync(d, {recursive: true, mode: 0o700})
}

export async function saveConfig(dirs: DriverDirs, def: NetworkDef): Promise<void> {
  await writeFileAtomic(join(dirs.configDir, `${def.name}.xml`), formatNetworkXml(def), 0o600)
}

export function removeConfig(dirs: DriverDirs, name: string): void {
  rmSync(join(dirs.configDir, `${name}.xml`), {force: true})
  setAutostartLink(dirs, name, false)
}

export function setAutostartLink(dirs: DriverDirs, name: string, on: boolean): void {
  const link = join(dirs.autostartDir, `${name}.xml`)
  let exists = false
  try {
    lstatSync(link)
    exists = true
  } catch {
    /* none */
  }
  if (on && !exists) symlinkSync(join('..', `${name}.xml`), link)
  if (!on && exists) rmSync(link, {force: true})
}

interface LiveState {
  xml: string
  ports: string[]
}

export async function saveLive(dirs: DriverDirs, n: NetObj): Promise<void> {
  if (!n.live) return
  const state: LiveState = {xml: formatNetworkXml(n.live), ports: [...n.ports.values()].map(formatNetworkPortXml)}
  await writeFileAtomic(join(dirs.runDir, `${n.live.name}.json`), JSON.stringify(state), 0o600)
}

export function removeLive(dirs: DriverDirs, name: string): void {
  rmSync(join(dirs.runDir, `${name}.json`), {force: true})
}

/** Reads every definition and live state; unusable files are logged and skipped. */
export function loadAll(dirs: DriverDirs, log: LogSink): Map<string, NetObj> {
  const nets = new Map<string, NetObj>()
  const byName = new Map<string, NetObj>()
  const files = (d: string) => {
    try {
      return readdirSync(d)
    } catch {
      return []
    }
  }
  for (const f of files(dirs.configDir)) {
    if (!f.endsWith('.xml')) continue
    try {
      const def = parseNetworkXml(readFileSync(join(dirs.configDir, f), 'utf8'))
      if (`${def.name}.xml` !== f) throw new Error(`its name is '${def.name}'`)
      const n: NetObj = {config: def, autostart: existsSync(join(dirs.autostartDir, f)), ports: new Map()}
      nets.set(def.uuid, n)
      byName.set(def.name, n)
    } catch (err) {
      log.warn(`skipping network definition ${f}: ${(err as Error).message}`)
    }
  }
  for (const f of files(dirs.runDir)) {
    if (!f.endsWith('.json')) continue
    try {
      const state = JSON.parse(readFileSync(join(dirs.runDir, f), 'utf8')) as LiveState
      const live = parseNetworkXml(state.xml)
      const ports = new Map<string, NetworkPortDef>()
      for (const x of state.ports) {
        const p = parseNetworkPortXml(x)
        ports.set(p.uuid, p)
      }
      const n = byName.get(live.name) ?? {autostart: false, ports}
      n.live = live
      n.ports = ports
      nets.set(live.uuid, n)
    } catch (err) {
      log.warn(`skipping network state ${f}: ${(err as Error).message}`)
    }
  }
  return nets
}
