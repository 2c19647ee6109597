/** The REMOTE handlers of storage volumes and the pool calls that take or give volumes. */
import type {VolRef} from '../../drivers/storage-vol-types.js'
import type {VolHandle} from '../../rpc/programs/remote.js'
import {P, poolDrv, toObj, u, then, type On} from './context.js'
import {registerVolumeStreams} from './volume-stream.js'

const toVol = (r: VolRef): VolHandle => ({pool: r.pool, name: r.name, key: r.key})
const retVol = (r: VolRef) => ({vol: toVol(r)})
const info = (i: {type: number; capacity: bigint; allocation: bigint}) => ({type: i.type, capacity: i.capacity, allocation: i.allocation})

export function registerVolume(on: On): void {
  registerVolumeStreams(on)
  on(P.CONNECT_FIND_STORAGE_POOL_SOURCES, (conn, {type, srcSpec, flags}) =>
    then(poolDrv(conn).findPoolSources(type, srcSpec, flags), (xml) => ({xml})),
  )
  on(P.STORAGE_POOL_DELETE, (conn, {pool, flags}) => poolDrv(conn).poolDelete(u(pool), flags))
  on(P.STORAGE_POOL_LOOKUP_BY_VOLUME, (conn, {vol}) => ({pool: toObj(poolDrv(conn).lookupPoolByVolume(vol))}))
  on(P.STORAGE_POOL_LOOKUP_BY_TARGET_PATH, (conn, {path}) => ({pool: toObj(poolDrv(conn).lookupPoolByTargetPath(path))}))
  on(P.CONNECT_GET_STORAGE_POOL_CAPABILITIES, (conn, {flags}) => ({capabilities: poolDrv(conn).getPoolCapabilities(flags)}))
  on(P.STORAGE_POOL_LIST_ALL_VOLUMES, (conn, {pool, need_results, flags}) => {
    const list = poolDrv(conn).poolListAllVolumes(u(pool), flags)
    return {vols: need_results ? list.map(toVol) : [], ret: list.length}
  })
  on(P.STORAGE_VOL_CREATE_XML, (conn, {pool, xml, flags}) => then(poolDrv(conn).volCreateXML(u(pool), xml, flags), retVol))
  on(P.STORAGE_VOL_CREATE_XML_FROM, (conn, {pool, xml, clonevol, flags}) =>
    then(poolDrv(conn).volCreateXMLFrom(u(pool), xml, clonevol, flags), retVol),
  )
  on(P.STORAGE_VOL_DELETE, (conn, {vol, flags}) => poolDrv(conn).volDelete(vol, flags))
  on(P.STORAGE_VOL_LOOKUP_BY_NAME, (conn, {pool, name}) => retVol(poolDrv(conn).volLookupByName(u(pool), name)))
  on(P.STORAGE_VOL_LOOKUP_BY_KEY, (conn, {key}) => retVol(poolDrv(conn).volLookupByKey(key)))
  on(P.STORAGE_VOL_LOOKUP_BY_PATH, (conn, {path}) => retVol(poolDrv(conn).volLookupByPath(path)))
  on(P.STORAGE_VOL_GET_INFO, (conn, {vol}) => then(poolDrv(conn).volGetInfo(vol, 0), info))
  on(P.STORAGE_VOL_GET_INFO_FLAGS, (conn, {vol, flags}) => then(poolDrv(conn).volGetInfo(vol, flags), info))
  on(P.STORAGE_VOL_GET_XML_DESC, (conn, {vol, flags}) => then(poolDrv(conn).volGetXMLDesc(vol, flags), (xml) => ({xml})))
  on(P.STORAGE_VOL_GET_PATH, (conn, {vol}) => ({name: poolDrv(conn).volGetPath(vol)}))
  on(P.STORAGE_VOL_WIPE, (conn, {vol, flags}) => poolDrv(conn).volWipe(vol, 0, flags))
  on(P.STORAGE_VOL_WIPE_PATTERN, (conn, {vol, algorithm, flags}) => poolDrv(conn).volWipe(vol, algorithm, flags))
  on(P.STORAGE_VOL_RESIZE, (conn, {vol, capacity, flags}) => poolDrv(conn).volResize(vol, capacity, flags))
}
