/**
 * Storage pools and volumes as vctl's commands present them (plain data for --json), the volume
 * transfers over RPC streams, and the StorageVolumes view virtqemud uses to ask virtstoraged about
 * `<disk type='volume'>` (what libvirtd answers in process).
 */
import {createReadStream} from 'node:fs'
import * as fsp from 'node:fs/promises'

import {ErrorCode, VirError} from '../errors.js'
import {remote, type PoolHandle, type VolHandle} from '../rpc/programs/remote.js'
import {openStream} from '../rpc/stream-client.js'
import {uuidToString} from '../uuid.js'
import {Connection} from './connection.js'

const P = remote.procs

export const POOL_STATES = ['inactive', 'building', 'running', 'degraded', 'inaccessible'] as const
export const VOL_TYPES = ['file', 'block', 'dir', 'network', 'netdir', 'ploop'] as const

export interface PoolSummary {
  name: string
  uuid: string
  state: string
  autostart: boolean
  persistent: boolean
  capacity: number
  allocation: number
  available: number
}

export interface VolSummary {
  name: string
  path: string
  type: string
  capacity: number
  allocation: number
}

/** Looks a pool up by name, then UUID, as virsh does; "failed to get pool" when neither matches. */
export async function findPool(conn: Connection, ident: string): Promise<PoolHandle> {
  try {
    return (await conn.call(P.STORAGE_POOL_LOOKUP_BY_NAME, {name: ident})).pool
  } catch (err) {
    if (!(err instanceof VirError) || err.code !== ErrorCode.NO_STORAGE_POOL) throw err
    throw new VirError(err.code, err.domain, `failed to get pool '${ident}'`)
  }
}

/** A volume by name in `pool`, or by key / path when no pool is given (virsh's vol lookup order). */
export async function findVol(conn: Connection, ident: string, pool?: string): Promise<VolHandle> {
  try {
    if (pool !== undefined) return (await conn.call(P.STORAGE_VOL_LOOKUP_BY_NAME, {pool: await findPool(conn, pool), name: ident})).vol
    try {
      return (await conn.call(P.STORAGE_VOL_LOOKUP_BY_KEY, {key: ident})).vol
    } catch {
      return (await conn.call(P.STORAGE_VOL_LOOKUP_BY_PATH, {path: ident})).vol
    }
  } catch (err) {
    if (!(err instanceof VirError) || err.code !== ErrorCode.NO_STORAGE_VOL) throw err
    throw new VirError(err.code, err.domain, `failed to get vol '${ident}'`)
  }
}

export async function poolSummary(conn: Connection, pool: PoolHandle): Promise<PoolSummary> {
  const [info, auto, pers] = await Promise.all([
    conn.call(P.STORAGE_POOL_GET_INFO, {pool}),
    conn.call(P.STORAGE_POOL_GET_AUTOSTART, {pool}),
    conn.call(P.STORAGE_POOL_IS_PERSISTENT, {pool}),
  ])
  return {
    name: pool.name,
    uuid: uuidToString(pool.uuid),
    state: POOL_STATES[info.state] ?? 'unknown',
    autostart: auto.autostart !== 0,
    persistent: pers.persistent !== 0,
    capacity: Number(info.capacity),
    allocation: Number(info.allocation),
    available: Number(info.available),
  }
}

/** Every pool (or the active ones), sorted by name. */
export async function listPools(conn: Connection, all: boolean): Promise<PoolSummary[]> {
  const {pools} = await conn.call(P.CONNECT_LIST_ALL_STORAGE_POOLS, {need_results: 1, flags: all ? 0 : 2})
  const out = await Promise.all(pools.map((p) => poolSummary(conn, p)))
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
}

export async function volSummary(conn: Connection, vol: VolHandle): Promise<VolSummary> {
  const [info, path] = await Promise.all([conn.call(P.STORAGE_VOL_GET_INFO, {vol}), conn.call(P.STORAGE_VOL_GET_PATH, {vol})])
  return {
    name: vol.name,
    path: path.name,
    type: VOL_TYPES[info.type] ?? 'unknown',
    capacity: Number(info.capacity),
    allocation: Number(info.allocation),
  }
}

export async function listVols(conn: Connection, pool: string): Promise<VolSummary[]> {
  const {vols} = await conn.call(P.STORAGE_POOL_LIST_ALL_VOLUMES, {pool: await findPool(conn, pool), need_results: 1, flags: 0})
  return Promise.all(vols.map((v) => volSummary(conn, v)))
}

/** The XML virsh's vol-create-as builds. */
export function volCreateAsXml(
  name: string,
  capacity: bigint,
  opts: {allocation?: bigint; format?: string; backing?: {path: string; format?: string}},
): string {
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/'/g, '&apos;')
  const lines = ['<volume>', `  <name>${esc(name)}</name>`, `  <capacity>${capacity}</capacity>`]
  if (opts.allocation !== undefined) lines.push(`  <allocation>${opts.allocation}</allocation>`)
  if (opts.format) lines.push('  <target>', `    <format type='${esc(opts.format)}'/>`, '  </target>')
  if (opts.backing) {
    lines.push('  <backingStore>', `    <path>${esc(opts.backing.path)}</path>`)
    if (opts.backing.format) lines.push(`    <format type='${esc(opts.backing.format)}'/>`)
    lines.push('  </backingStore>')
  }
  lines.push('</volume>', '')
  return lines.join('\n')
}

/** Progress of a transfer: bytes so far (holes included) out of the total when known. */
export type Progress = (done: number, total: number | undefined) => void

/** Sends `file` into the volume (sparse: holes of the file as holes, found with the kernel's help where it can). */
export async function uploadVol(
  conn: Connection,
  vol: VolHandle,
  file: string,
  opts: {offset?: bigint; length?: bigint; sparse?: boolean; progress?: Progress} = {},
): Promise<number> {
  const size = (await fsp.stat(file)).size
  const {stream} = await openStream(conn.rpc, remote, P.STORAGE_VOL_UPLOAD, {
    vol,
    offset: opts.offset ?? 0n,
    length: opts.length ?? 0n,
    flags: opts.sparse ? 1 : 0,
  })
  let done = 0
  const ZERO = Buffer.alloc(1 << 20)
  try {
    const src = createReadStream(file, {highWaterMark: 1 << 20})
    for await (const chunk of src as AsyncIterable<Buffer>) {
      if (opts.sparse && chunk.equals(ZERO.subarray(0, chunk.length))) await stream.writeHole(BigInt(chunk.length))
      else await stream.write(chunk)
      done += chunk.length
      opts.progress?.(done, size)
    }
    await stream.finish()
  } catch (err) {
    await stream.abort().catch(() => {})
    throw err
  }
  return done
}

/** Writes the volume into `file` (sparse: holes become holes of the file). */
export async function downloadVol(
  conn: Connection,
  vol: VolHandle,
  file: string,
  opts: {offset?: bigint; length?: bigint; sparse?: boolean; progress?: Progress} = {},
): Promise<number> {
  const info = await conn.call(P.STORAGE_VOL_GET_INFO, {vol})
  const total = opts.length ? Number(opts.length) : Number(info.capacity) - Number(opts.offset ?? 0n)
  const {stream} = await openStream(conn.rpc, remote, P.STORAGE_VOL_DOWNLOAD, {
    vol,
    offset: opts.offset ?? 0n,
    length: opts.length ?? 0n,
    flags: opts.sparse ? 1 : 0,
  })
  const fh = await fsp.open(file, 'w', 0o644)
  let pos = 0
  try {
    for await (const c of stream) {
      if (Buffer.isBuffer(c)) {
        await fh.write(c, 0, c.length, pos)
        pos += c.length
      } else pos += Number(c.hole)
      opts.progress?.(pos, total)
    }
    await fh.truncate(pos)
    await stream.finish()
  } catch (err) {
    await stream.abort().catch(() => {})
    throw err
  } finally {
    await fh.close()
  }
  return pos
}

/** The shape of the drivers' StorageVolumes (storage-vol-types.ts), which the client may not import. */
export interface RemoteVolumes {
  resolveVolume(pool: string, volume: string): Promise<{path: string; type: 'file' | 'block' | 'dir' | 'network'; format?: string}>
  deleteVolumeByPath(path: string): Promise<boolean>
  precreateVolume(pool: {dir: string} | {name: string}, name: string, xml: string, flags: number): Promise<string | undefined>
}

/** virtqemud's view of virtstoraged's volumes, over the RPC protocol (libvirt's modular daemons do the same). */
export function remoteStorageVolumes(socketPath: string, uri: string): RemoteVolumes {
  const withConn = async <T>(fn: (c: Connection) => Promise<T>): Promise<T> => {
    const c = await Connection.open(`${uri}?socket=${socketPath}`)
    try {
      return await fn(c)
    } finally {
      await c.close()
    }
  }
  return {
    resolveVolume: (pool, volume) =>
      withConn(async (c) => {
        const vol = await findVol(c, volume, pool)
        const [info, path, xml] = await Promise.all([
          c.call(P.STORAGE_VOL_GET_INFO, {vol}),
          c.call(P.STORAGE_VOL_GET_PATH, {vol}),
          c.call(P.STORAGE_VOL_GET_XML_DESC, {vol, flags: 0}),
        ])
        const format = /<target>[\s\S]*?<format type='([^']+)'/.exec(xml.xml)?.[1]
        const type = (['file', 'block', 'dir', 'network'] as const)[info.type] ?? 'file'
        return {path: path.name, type, format}
      }),
    deleteVolumeByPath: (path) =>
      withConn(async (c) => {
        try {
          const {vol} = await c.call(P.STORAGE_VOL_LOOKUP_BY_PATH, {path})
          await c.call(P.STORAGE_VOL_DELETE, {vol, flags: 0})
          return true
        } catch {
          return false
        }
      }),
    precreateVolume: (where, name, xml, flags) =>
      withConn(async (c) => {
        const {pool} =
          'dir' in where
            ? await c.call(P.STORAGE_POOL_LOOKUP_BY_TARGET_PATH, {path: where.dir})
            : await c.call(P.STORAGE_POOL_LOOKUP_BY_NAME, {name: where.name})
        try {
          await c.call(P.STORAGE_VOL_LOOKUP_BY_NAME, {pool, name})
          return undefined
        } catch (err) {
          if (!(err instanceof VirError) || err.code !== ErrorCode.NO_STORAGE_VOL) throw err
        }
        const {vol} = await c.call(P.STORAGE_VOL_CREATE_XML, {pool, xml, flags})
        return (await c.call(P.STORAGE_VOL_GET_PATH, {vol})).name
      }),
  }
}

/** A size as virsh takes it: bytes, or a number with a suffix (K, M, G, T, P, E: powers of 1024; KB, MB, ...: of 1000). */
export function parseSize(text: string): bigint {
  const m = /^(\d+)\s*([a-zA-Z]*)$/.exec(text.trim())
  if (!m) throw new VirError(ErrorCode.INVALID_ARG, 0, `invalid size '${text}'`)
  const unit = m[2].toLowerCase()
  if (unit === '' || unit === 'b' || unit === 'bytes') return BigInt(m[1])
  const power = 'kmgtpe'.indexOf(unit[0])
  const rest = unit.slice(1)
  if (power < 0 || !['', 'ib', 'b'].includes(rest)) throw new VirError(ErrorCode.INVALID_ARG, 0, `invalid size '${text}': unknown suffix '${m[2]}'`)
  return BigInt(m[1]) * (rest === 'b' ? 1000n : 1024n) ** BigInt(power + 1)
}

/** Bytes for people, as virsh prints them (1.00 GiB). */
export function humanSize(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB']
  let v = n
  let i = 0
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  return i === 0 ? `${n}.00 B` : `${v.toFixed(2)} ${units[i]}`
}
