/**
 * The REMOTE procedures of domain snapshots (DOMAIN_SNAPSHOT_*, DOMAIN_*_SNAPSHOT*), in
 * procedure-number order. A read-only denial is reported in VIR_FROM_DOMAIN_SNAPSHOT, where
 * libvirt's public snapshot API lives.
 */
import * as t from '../../codec.js'
import {proc} from '../../program.js'
import {LIST_MAX, domFlags, domainHandle, s} from './types.js'

const SNAPSHOT = 35

export const snapshotHandle = t.struct({name: s, dom: domainHandle})
export type SnapshotHandle = t.TypeOf<typeof snapshotHandle>

const snapFlags = t.struct({snap: snapshotHandle, flags: t.uint})
const retSnap = t.struct({snap: snapshotHandle})
const nameList = t.struct({names: t.array(s, LIST_MAX)})
const snapList = t.struct({snapshots: t.array(snapshotHandle, LIST_MAX), ret: t.int})
const ro = {ro: true, errDomain: SNAPSHOT}
const rw = {errDomain: SNAPSHOT}

export const snapshotProcs = {
  DOMAIN_SNAPSHOT_CREATE_XML: proc(185, t.struct({dom: domainHandle, xml_desc: s, flags: t.uint}), retSnap, rw),
  DOMAIN_SNAPSHOT_GET_XML_DESC: proc(186, snapFlags, t.struct({xml: s}), ro),
  DOMAIN_SNAPSHOT_NUM: proc(187, domFlags, t.struct({num: t.int}), ro),
  DOMAIN_SNAPSHOT_LIST_NAMES: proc(188, t.struct({dom: domainHandle, maxnames: t.int, flags: t.uint}), nameList, ro),
  DOMAIN_SNAPSHOT_LOOKUP_BY_NAME: proc(189, t.struct({dom: domainHandle, name: s, flags: t.uint}), retSnap, ro),
  DOMAIN_HAS_CURRENT_SNAPSHOT: proc(190, domFlags, t.struct({result: t.int}), ro),
  DOMAIN_SNAPSHOT_CURRENT: proc(191, domFlags, retSnap, ro),
  DOMAIN_REVERT_TO_SNAPSHOT: proc(192, snapFlags, t.voidType, rw),
  DOMAIN_SNAPSHOT_DELETE: proc(193, snapFlags, t.voidType, rw),
  DOMAIN_SNAPSHOT_GET_PARENT: proc(244, snapFlags, retSnap, ro),
  DOMAIN_SNAPSHOT_NUM_CHILDREN: proc(246, snapFlags, t.struct({num: t.int}), ro),
  DOMAIN_SNAPSHOT_LIST_CHILDREN_NAMES: proc(247, t.struct({snap: snapshotHandle, maxnames: t.int, flags: t.uint}), nameList, ro),
  DOMAIN_SNAPSHOT_IS_CURRENT: proc(271, snapFlags, t.struct({current: t.int}), ro),
  DOMAIN_SNAPSHOT_HAS_METADATA: proc(272, snapFlags, t.struct({metadata: t.int}), ro),
  DOMAIN_LIST_ALL_SNAPSHOTS: proc(274, t.struct({dom: domainHandle, need_results: t.int, flags: t.uint}), snapList, ro),
  DOMAIN_SNAPSHOT_LIST_ALL_CHILDREN: proc(275, t.struct({snapshot: snapshotHandle, need_results: t.int, flags: t.uint}), snapList, ro),
}
