/** What vctl's pool and volume commands do to pools and volumes, as RPC calls (data for --json back). */
import {remote} from '../rpc/programs/remote.js'
import {uuidToString} from '../uuid.js'
import type {Connection} from './connection.js'
import {findPool, findVol, volSummary, type VolSummary} from './storage.js'

const P = remote.procs

export type PoolOp = 'build' | 'start' | 'destroy' | 'delete' | 'undefine' | 'refresh'

/** virStoragePoolBuildFlags. */
export const BuildFlags = {OVERWRITE: 8, NO_OVERWRITE: 4} as const
/** virStorageVolResizeFlags. */
export const ResizeFlags = {ALLOCATE: 1, DELTA: 2, SHRINK: 4} as const
/** virStorageVolWipeAlgorithm names, in number order. */
export const WIPE_ALGORITHMS = ['zero', 'nnsa', 'dod', 'bsi', 'gutmann', 'schneier', 'pfitzner7', 'pfitzner33', 'random', 'trim'] as const

export async function definePool(conn: Connection, xml: string): Promise<{name: string; uuid: string}> {
  const {pool} = await conn.call(P.STORAGE_POOL_DEFINE_XML, {xml, flags: 0})
  return {name: pool.name, uuid: uuidToString(pool.uuid)}
}

export async function poolOp(conn: Connection, ident: string, op: PoolOp, flags = 0): Promise<string> {
  const pool = await findPool(conn, ident)
  switch (op) {
    case 'build':
      await conn.call(P.STORAGE_POOL_BUILD, {pool, flags})
      break
    case 'start':
      await conn.call(P.STORAGE_POOL_CREATE, {pool, flags})
      break
    case 'destroy':
      await conn.call(P.STORAGE_POOL_DESTROY, {pool})
      break
    case 'delete':
      await conn.call(P.STORAGE_POOL_DELETE, {pool, flags})
      break
    case 'undefine':
      await conn.call(P.STORAGE_POOL_UNDEFINE, {pool})
      break
    case 'refresh':
      await conn.call(P.STORAGE_POOL_REFRESH, {pool, flags})
      break
  }
  return pool.name
}

export async function poolXml(conn: Connection, ident: string, inactive: boolean): Promise<string> {
  return (await conn.call(P.STORAGE_POOL_GET_XML_DESC, {pool: await findPool(conn, ident), flags: inactive ? 1 : 0})).xml
}

export async function setPoolAutostart(conn: Connection, ident: string, on: boolean): Promise<string> {
  const pool = await findPool(conn, ident)
  await conn.call(P.STORAGE_POOL_SET_AUTOSTART, {pool, autostart: on ? 1 : 0})
  return pool.name
}

export async function createVol(conn: Connection, pool: string, xml: string, flags = 0): Promise<VolSummary> {
  const {vol} = await conn.call(P.STORAGE_VOL_CREATE_XML, {pool: await findPool(conn, pool), xml, flags})
  return volSummary(conn, vol)
}

/** vol-clone: a copy of `src` named `name` in the same pool (virsh sends the source's XML with the new name). */
export async function cloneVol(conn: Connection, src: string, name: string, pool?: string): Promise<VolSummary> {
  const vol = await findVol(conn, src, pool)
  const {xml} = await conn.call(P.STORAGE_VOL_GET_XML_DESC, {vol, flags: 0})
  const esc = name.replace(/&/g, '&amp;').replace(/</g, '&lt;')
  const newXml = xml.replace(/<name>[^<]*<\/name>/, `<name>${esc}</name>`).replace(/<key>[^<]*<\/key>\s*/, '')
  const target = await conn.call(P.STORAGE_POOL_LOOKUP_BY_VOLUME, {vol})
  const made = await conn.call(P.STORAGE_VOL_CREATE_XML_FROM, {pool: target.pool, xml: newXml, clonevol: vol, flags: 0})
  return volSummary(conn, made.vol)
}

export async function deleteVol(conn: Connection, ident: string, pool?: string): Promise<string> {
  const vol = await findVol(conn, ident, pool)
  await conn.call(P.STORAGE_VOL_DELETE, {vol, flags: 0})
  return vol.name
}

export async function wipeVol(conn: Connection, ident: string, pool: string | undefined, algorithm: number): Promise<string> {
  const vol = await findVol(conn, ident, pool)
  if (algorithm === 0) await conn.call(P.STORAGE_VOL_WIPE, {vol, flags: 0})
  else await conn.call(P.STORAGE_VOL_WIPE_PATTERN, {vol, algorithm, flags: 0})
  return vol.name
}

export async function resizeVol(conn: Connection, ident: string, pool: string | undefined, capacity: bigint, flags: number): Promise<VolSummary> {
  const vol = await findVol(conn, ident, pool)
  await conn.call(P.STORAGE_VOL_RESIZE, {vol, capacity, flags})
  return volSummary(conn, vol)
}

export async function volXml(conn: Connection, ident: string, pool?: string): Promise<string> {
  return (await conn.call(P.STORAGE_VOL_GET_XML_DESC, {vol: await findVol(conn, ident, pool), flags: 0})).xml
}
