/**
 * What libvirt-guests does, for `vctl guests start|stop|status` (and the libvirt-guests.service
 * that runs them): on host shutdown, the running guests of each URI are shut down (ACPI power
 * button, waiting up to SHUTDOWN_TIMEOUT, PARALLEL_SHUTDOWN at once) and remembered in
 * /var/lib/libvirt/libvirt-guests; on boot they are started again (ON_BOOT=start, START_DELAY
 * seconds apart). The settings are libvirt's, from its file (/etc/default/libvirt-guests on Debian,
 * /etc/sysconfig/libvirt-guests elsewhere) and the environment (the unit's EnvironmentFile=).
 * ON_SHUTDOWN=suspend saves each persistent guest with managed save instead (its next start restores
 * it); a transient guest cannot be saved that way and is shut down, as libvirt-guests does.
 */
import {mkdirSync, readFileSync, rmSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {argsDirFor, splitArgs} from './args-file.js'
import {writeFileAtomic} from '../fs-atomic.js'
import type {Connection} from '../client/connection.js'

export interface GuestsConfig {
  uris: string[]
  onBoot: 'start' | 'ignore'
  onShutdown: 'shutdown' | 'suspend'
  shutdownTimeout: number
  parallelShutdown: number
  startDelay: number
}

export class GuestsConfigError extends Error {}

const KEYS = ['URIS', 'ON_BOOT', 'ON_SHUTDOWN', 'SHUTDOWN_TIMEOUT', 'PARALLEL_SHUTDOWN', 'START_DELAY'] as const

function readVars(path: string): Record<string, string> {
  const out: Record<string, string> = {}
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch {
    return out
  }
  for (const line of text.split('\n')) {
    const m = /^\s*([A-Z_]+)\s*=\s*(.*?)\s*$/.exec(line)
    if (!m) continue
    const v = m[2]
    out[m[1]] = /^(["']).*\1$/.test(v) ? v.slice(1, -1) : v
  }
  return out
}

function nonNegative(key: string, value: string): number {
  if (!/^\d+$/.test(value)) throw new GuestsConfigError(`${key}=${value}: expected a number of seconds (or guests) >= 0`)
  return Number(value)
}

/** The configuration: the file under root, overridden by the environment (as the unit passes it). */
export function loadGuestsConfig(root = '', env: NodeJS.ProcessEnv = process.env): GuestsConfig & {file: string} {
  const file = join(root || '/', argsDirFor(root), 'libvirt-guests')
  const vars = readVars(file)
  for (const k of KEYS) if (env[k] !== undefined) vars[k] = env[k]
  const onBoot = vars.ON_BOOT ?? 'start'
  if (onBoot !== 'start' && onBoot !== 'ignore') throw new GuestsConfigError(`ON_BOOT=${onBoot}: expected start or ignore`)
  const onShutdown = vars.ON_SHUTDOWN ?? 'shutdown'
  if (onShutdown !== 'shutdown' && onShutdown !== 'suspend') throw new GuestsConfigError(`ON_SHUTDOWN=${onShutdown}: expected shutdown or suspend`)
  return {
    file,
    uris: splitArgs(vars.URIS ?? '').length ? splitArgs(vars.URIS ?? '') : ['qemu:///system'],
    onBoot,
    onShutdown,
    shutdownTimeout: nonNegative('SHUTDOWN_TIMEOUT', vars.SHUTDOWN_TIMEOUT ?? '300'),
    parallelShutdown: nonNegative('PARALLEL_SHUTDOWN', vars.PARALLEL_SHUTDOWN ?? '0'),
    startDelay: nonNegative('START_DELAY', vars.START_DELAY ?? '0'),
  }
}

/** Where the guests to start again are remembered: one `URI UUID...` line per URI, as libvirt's. */
export function stateFile(root = ''): string {
  return join(root || '/', 'var/lib/libvirt/libvirt-guests')
}

export function readState(root = ''): Map<string, string[]> {
  const out = new Map<string, string[]>()
  let text: string
  try {
    text = readFileSync(stateFile(root), 'utf8')
  } catch {
    return out
  }
  for (const line of text.split('\n')) {
    const [uri, ...uuids] = line.trim().split(/\s+/)
    if (uri) out.set(uri, uuids)
  }
  return out
}

async function writeState(root: string, state: Map<string, string[]>): Promise<void> {
  const path = stateFile(root)
  mkdirSync(dirname(path), {recursive: true})
  await writeFileAtomic(path, [...state].map(([uri, uuids]) => `${uri} ${uuids.join(' ')}\n`).join(''), 0o644)
}

export type Log = (line: string) => void

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function open(uri: string): Promise<Connection> {
  const {Connection} = await import('../client/connection.js')
  return Connection.open(uri)
}

/** Shuts down the running guests of every URI (remembering them for `start`); returns those still running. */
export async function stopGuests(cfg: GuestsConfig, log: Log, root = ''): Promise<{stopped: string[]; timedOut: string[]}> {
  const {listDomains} = await import('../client/domains.js')
  const {shutdownDomain} = await import('../client/domain-actions.js')
  const {managedSave} = await import('../client/domain-save.js')
  const state = readState(root)
  const stopped: string[] = []
  const timedOut: string[] = []
  for (const uri of cfg.uris) {
    let conn: Connection
    try {
      conn = await open(uri)
    } catch (err) {
      log(`Unable to connect to libvirt currently. Skipping ${uri}: ${(err as Error).message}`)
      continue
    }
    try {
      const running = (await listDomains(conn, false)).filter((d) => d.id !== null)
      state.set(uri, [...new Set([...(state.get(uri) ?? []), ...running.map((d) => d.uuid)])])
      await writeState(root, state)
      if (running.length === 0) {
        log(`${uri}: no running guests.`)
        continue
      }
      log(`Running guests on ${uri} URI: ${running.map((d) => d.name).join(', ')}`)
      const deadline = cfg.shutdownTimeout > 0 ? Date.now() + cfg.shutdownTimeout * 1000 : Infinity
      const width = cfg.parallelShutdown > 0 ? cfg.parallelShutdown : 1
      const queue = [...running]
      // A handle looked up again carries the domain's ID: -1 once it is shut off.
      const isActive = async (uuid: string) => {
        try {
          return (await conn.lookupDomain(uuid)).id !== -1
        } catch {
          return false
        }
      }
      const worker = async () => {
        for (let d = queue.shift(); d; d = queue.shift()) {
          if (cfg.onShutdown === 'suspend') {
            try {
              const dom = await conn.lookupDomain(d.uuid)
              log(`Suspending ${d.name}: `)
              await managedSave(conn, dom)
              log(`Suspending ${d.name}: done`)
              stopped.push(d.name)
              continue
            } catch (err) {
              // Transient guests have nowhere to keep a managed save: libvirt-guests shuts them down.
              log(`Managed save of ${d.name} failed (${(err as Error).message}): shutting it down instead`)
            }
          }
          log(`Shutting down ${d.name}...`)
          try {
            const dom = await conn.lookupDomain(d.uuid)
            await shutdownDomain(conn, dom)
          } catch (err) {
            log(`Shutdown of ${d.name} failed: ${(err as Error).message}`)
          }
          while ((await isActive(d.uuid)) && Date.now() < deadline) await sleep(250)
          if (await isActive(d.uuid)) {
            log(`Timeout expired while shutting down ${d.name}`)
            timedOut.push(d.name)
          } else {
            log(`Shutdown of guest ${d.name} complete.`)
            stopped.push(d.name)
          }
        }
      }
      await Promise.all(Array.from({length: Math.min(width, running.length)}, worker))
    } finally {
      await conn.close().catch(() => {})
    }
  }
  return {stopped, timedOut}
}

/** Starts the guests `stop` remembered (ON_BOOT=start), START_DELAY seconds apart; forgets them. */
export async function startGuests(cfg: GuestsConfig, log: Log, root = ''): Promise<{started: string[]; failed: string[]}> {
  const state = readState(root)
  const started: string[] = []
  const failed: string[] = []
  if (cfg.onBoot === 'ignore') {
    log('ON_BOOT=ignore: not starting any guest.')
    rmSync(stateFile(root), {force: true})
    return {started, failed}
  }
  const {startDomain} = await import('../client/domain-actions.js')
  let first = true
  for (const [uri, uuids] of state) {
    let conn: Connection
    try {
      conn = await open(uri)
    } catch (err) {
      log(`Unable to connect to libvirt currently. Skipping ${uri}: ${(err as Error).message}`)
      continue
    }
    try {
      log(`Resuming guests on ${uri} URI...`)
      for (const uuid of uuids) {
        let name = uuid
        try {
          const dom = await conn.lookupDomain(uuid)
          name = dom.name
          if (dom.id !== -1) {
            log(`Guest ${name} is already active.`)
            continue
          }
          if (!first && cfg.startDelay > 0) await sleep(cfg.startDelay * 1000)
          first = false
          log(`Resuming guest ${name}: `)
          await startDomain(conn, dom)
          log(`done`)
          started.push(name)
        } catch (err) {
          log(`Starting ${name} failed: ${(err as Error).message}`)
          failed.push(name)
        }
      }
      state.delete(uri)
    } finally {
      await conn.close().catch(() => {})
    }
  }
  if (state.size) await writeState(root, state)
  else rmSync(stateFile(root), {force: true})
  return {started, failed}
}
