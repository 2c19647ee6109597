/** The REMOTE handlers of storage pools and volumes. */
import {uuidToString} from '../../uuid.js'
import {P, poolDrv, toObj, u, then, type On} from './context.js'
import {registerVolume} from './volume.js'

/** virConnectListAllStoragePoolsFlags: inactive, active (the other way round from domains). */
const LIST_POOLS_INACTIVE = 1
const LIST_POOLS_ACTIVE = 2

export function registerStorage(on: On): void {
  registerVolume(on)
  on(P.CONNECT_LIST_ALL_STORAGE_POOLS, (conn, {need_results, flags}) => {
    const list = poolDrv(conn).listPools(flags)
    return {pools: need_results ? list.map(toObj) : [], ret: list.length}
  })
  on(P.CONNECT_NUM_OF_STORAGE_POOLS, (conn) => ({num: poolDrv(conn).numOfPools(true)}))
  on(P.CONNECT_NUM_OF_DEFINED_STORAGE_POOLS, (conn) => ({num: poolDrv(conn).numOfPools(false)}))
  on(P.CONNECT_LIST_STORAGE_POOLS, (conn, {maxnames}) => ({
    names: poolDrv(conn)
      .listPools(LIST_POOLS_ACTIVE)
      .map((n) => n.name)
      .slice(0, Math.max(0, maxnames)),
  }))
  on(P.CONNECT_LIST_DEFINED_STORAGE_POOLS, (conn, {maxnames}) => ({
    names: poolDrv(conn)
      .listPools(LIST_POOLS_INACTIVE)
      .map((n) => n.name)
      .slice(0, Math.max(0, maxnames)),
  }))
  on(P.STORAGE_POOL_LOOKUP_BY_NAME, (conn, {name}) => ({pool: toObj(poolDrv(conn).lookupPoolByName(name))}))
  on(P.STORAGE_POOL_LOOKUP_BY_UUID, (conn, {uuid}) => ({pool: toObj(poolDrv(conn).lookupPoolByUuid(uuidToString(uuid)))}))
  on(P.STORAGE_POOL_DEFINE_XML, (conn, {xml, flags}) => then(poolDrv(conn).poolDefineXML(xml, flags), (r) => ({pool: toObj(r)})))
  on(P.STORAGE_POOL_CREATE_XML, (conn, {xml, flags}) => then(poolDrv(conn).poolCreateXML(xml, flags), (r) => ({pool: toObj(r)})))
  on(P.STORAGE_POOL_CREATE, (conn, {pool, flags}) => poolDrv(conn).poolCreate(u(pool), flags))
  on(P.STORAGE_POOL_BUILD, (conn, {pool, flags}) => poolDrv(conn).poolBuild(u(pool), flags))
  on(P.STORAGE_POOL_DESTROY, (conn, {pool}) => poolDrv(conn).poolDestroy(u(pool)))
  on(P.STORAGE_POOL_UNDEFINE, (conn, {pool}) => poolDrv(conn).poolUndefine(u(pool)))
  on(P.STORAGE_POOL_REFRESH, (conn, {pool, flags}) => poolDrv(conn).poolRefresh(u(pool), flags))
  on(P.STORAGE_POOL_GET_INFO, (conn, {pool}) => poolDrv(conn).poolGetInfo(u(pool)))
  on(P.STORAGE_POOL_GET_XML_DESC, (conn, {pool, flags}) => ({xml: poolDrv(conn).poolGetXMLDesc(u(pool), flags)}))
  on(P.STORAGE_POOL_GET_AUTOSTART, (conn, {pool}) => ({autostart: poolDrv(conn).poolGetAutostart(u(pool)) ? 1 : 0}))
  on(P.STORAGE_POOL_SET_AUTOSTART, (conn, {pool, autostart}) => poolDrv(conn).poolSetAutostart(u(pool), autostart !== 0))
  on(P.STORAGE_POOL_IS_ACTIVE, (conn, {pool}) => ({active: poolDrv(conn).poolIsActive(u(pool)) ? 1 : 0}))
  on(P.STORAGE_POOL_IS_PERSISTENT, (conn, {pool}) => ({persistent: poolDrv(conn).poolIsPersistent(u(pool)) ? 1 : 0}))
  on(P.STORAGE_POOL_NUM_OF_VOLUMES, (conn, {pool}) => ({num: poolDrv(conn).poolListVolumes(u(pool)).length}))
  on(P.STORAGE_POOL_LIST_VOLUMES, (conn, {pool, maxnames}) => ({names: poolDrv(conn).poolListVolumes(u(pool)).slice(0, Math.max(0, maxnames))}))
}
