/** The REMOTE handlers of domain snapshots: procedure -> the hypervisor's SnapshotDriver. */
import {ErrorCode, VirError} from '../../errors.js'
import type {DomainHandle, SnapshotHandle} from '../../rpc/programs/remote.js'
import type {RpcConnection} from '../../rpc/server.js'
import {SnapshotXmlFlags, type SnapshotDriver} from '../../drivers/snapshot-types.js'
import {P, hv, u, then, type On} from './context.js'

/** VIR_FROM_DOMAIN_SNAPSHOT: where libvirt's public snapshot API reports. */
const SNAPSHOT_DOMAIN = 35

function snapDrv(conn: RpcConnection): SnapshotDriver {
  const s = hv(conn).snapshots
  if (!s) {
    throw new VirError(ErrorCode.NO_SUPPORT, SNAPSHOT_DOMAIN, 'this function is not supported by the connection driver: domain snapshots', {
      str1: 'this function is not supported by the connection driver: %s',
      str2: 'domain snapshots',
    })
  }
  return s
}

/** The handle of a snapshot of `dom` (the client's own domain handle, as libvirt's daemon echoes it). */
const snap = (dom: DomainHandle, name: string): SnapshotHandle => ({name, dom})
const limit = (names: string[], max: number): string[] => names.slice(0, Math.max(0, max))

export function registerSnapshots(on: On): void {
  on(P.DOMAIN_SNAPSHOT_CREATE_XML, (conn, {dom, xml_desc, flags}) =>
    then(snapDrv(conn).snapshotCreateXML(u(dom), xml_desc, flags), (name) => ({snap: snap(dom, name)})),
  )
  on(P.DOMAIN_SNAPSHOT_GET_XML_DESC, (conn, {snap: s, flags}) => {
    if (conn.readonly && flags & SnapshotXmlFlags.SECURE) {
      const detail = 'virDomainSnapshotGetXMLDesc with secure flag'
      throw new VirError(ErrorCode.OPERATION_DENIED, SNAPSHOT_DOMAIN, `operation forbidden: ${detail}`, {
        str1: 'operation forbidden: %s',
        str2: detail,
      })
    }
    return {xml: snapDrv(conn).snapshotGetXMLDesc(u(s.dom), s.name, flags)}
  })
  on(P.DOMAIN_SNAPSHOT_NUM, (conn, {dom, flags}) => ({num: snapDrv(conn).listSnapshots(u(dom), flags, 'virDomainSnapshotNum').length}))
  on(P.DOMAIN_SNAPSHOT_LIST_NAMES, (conn, {dom, maxnames, flags}) => ({
    names: limit(snapDrv(conn).listSnapshots(u(dom), flags, 'virDomainSnapshotListNames'), maxnames),
  }))
  on(P.DOMAIN_SNAPSHOT_LOOKUP_BY_NAME, (conn, {dom, name, flags}) => ({snap: snap(dom, snapDrv(conn).snapshotLookupByName(u(dom), name, flags))}))
  on(P.DOMAIN_HAS_CURRENT_SNAPSHOT, (conn, {dom, flags}) => ({result: snapDrv(conn).hasCurrentSnapshot(u(dom), flags) ? 1 : 0}))
  on(P.DOMAIN_SNAPSHOT_CURRENT, (conn, {dom, flags}) => ({snap: snap(dom, snapDrv(conn).snapshotCurrent(u(dom), flags))}))
  on(P.DOMAIN_REVERT_TO_SNAPSHOT, (conn, {snap: s, flags}) => snapDrv(conn).revertToSnapshot(u(s.dom), s.name, flags))
  on(P.DOMAIN_SNAPSHOT_DELETE, (conn, {snap: s, flags}) => snapDrv(conn).snapshotDelete(u(s.dom), s.name, flags))
  on(P.DOMAIN_SNAPSHOT_GET_PARENT, (conn, {snap: s, flags}) => ({snap: snap(s.dom, snapDrv(conn).snapshotGetParent(u(s.dom), s.name, flags))}))
  on(P.DOMAIN_SNAPSHOT_NUM_CHILDREN, (conn, {snap: s, flags}) => ({
    num: snapDrv(conn).listSnapshotChildren(u(s.dom), s.name, flags, 'virDomainSnapshotNumChildren').length,
  }))
  on(P.DOMAIN_SNAPSHOT_LIST_CHILDREN_NAMES, (conn, {snap: s, maxnames, flags}) => ({
    names: limit(snapDrv(conn).listSnapshotChildren(u(s.dom), s.name, flags, 'virDomainSnapshotListChildrenNames'), maxnames),
  }))
  on(P.DOMAIN_SNAPSHOT_IS_CURRENT, (conn, {snap: s, flags}) => ({current: snapDrv(conn).snapshotIsCurrent(u(s.dom), s.name, flags) ? 1 : 0}))
  on(P.DOMAIN_SNAPSHOT_HAS_METADATA, (conn, {snap: s, flags}) => ({metadata: snapDrv(conn).snapshotHasMetadata(u(s.dom), s.name, flags) ? 1 : 0}))
  on(P.DOMAIN_LIST_ALL_SNAPSHOTS, (conn, {dom, need_results, flags}) => {
    const names = snapDrv(conn).listSnapshots(u(dom), flags, 'virDomainListAllSnapshots')
    return {snapshots: need_results ? names.map((n) => snap(dom, n)) : [], ret: names.length}
  })
  on(P.DOMAIN_SNAPSHOT_LIST_ALL_CHILDREN, (conn, {snapshot, need_results, flags}) => {
    const names = snapDrv(conn).listSnapshotChildren(u(snapshot.dom), snapshot.name, flags, 'virDomainSnapshotListAllChildren')
    return {snapshots: need_results ? names.map((n) => snap(snapshot.dom, n)) : [], ret: names.length}
  })
}
