/** The REMOTE procedures of storage volumes (STORAGE_VOL_*, and a pool's volume list), in procedure-number order. */
import * as t from '../../codec.js'
import {proc} from '../../program.js'
import {LIST_MAX, STORAGE, poolHandle, s, volHandle, xmlRet} from './types.js'

const vol = t.struct({vol: volHandle})
const volFlags = t.struct({vol: volHandle, flags: t.uint})
const retVol = t.struct({vol: volHandle})
/** remote_storage_vol_upload_args / _download_args: the stream carries the bytes. */
const transfer = t.struct({vol: volHandle, offset: t.uhyper, length: t.uhyper, flags: t.uint})
const volInfo = t.struct({type: t.int, capacity: t.uhyper, allocation: t.uhyper})

export const volumeProcs = {
  STORAGE_VOL_CREATE_XML: proc(93, t.struct({pool: poolHandle, xml: s, flags: t.uint}), retVol, {errDomain: STORAGE}),
  STORAGE_VOL_DELETE: proc(94, volFlags, t.voidType, {errDomain: STORAGE}),
  STORAGE_VOL_LOOKUP_BY_NAME: proc(95, t.struct({pool: poolHandle, name: s}), retVol, {ro: true, errDomain: STORAGE}),
  STORAGE_VOL_LOOKUP_BY_KEY: proc(96, t.struct({key: s}), retVol, {ro: true, errDomain: STORAGE}),
  STORAGE_VOL_LOOKUP_BY_PATH: proc(97, t.struct({path: s}), retVol, {ro: true, errDomain: STORAGE}),
  STORAGE_VOL_GET_INFO: proc(98, vol, volInfo, {ro: true, errDomain: STORAGE}),
  STORAGE_VOL_GET_XML_DESC: proc(99, volFlags, xmlRet, {ro: true, errDomain: STORAGE}),
  STORAGE_VOL_GET_PATH: proc(100, vol, t.struct({name: s}), {ro: true, errDomain: STORAGE}),
  STORAGE_VOL_CREATE_XML_FROM: proc(125, t.struct({pool: poolHandle, xml: s, clonevol: volHandle, flags: t.uint}), retVol, {errDomain: STORAGE}),
  STORAGE_VOL_WIPE: proc(165, volFlags, t.voidType, {errDomain: STORAGE}),
  STORAGE_VOL_UPLOAD: proc(208, transfer, t.voidType, {errDomain: STORAGE}),
  STORAGE_VOL_DOWNLOAD: proc(209, transfer, t.voidType, {errDomain: STORAGE}),
  STORAGE_VOL_WIPE_PATTERN: proc(259, t.struct({vol: volHandle, algorithm: t.uint, flags: t.uint}), t.voidType, {errDomain: STORAGE}),
  STORAGE_VOL_RESIZE: proc(260, t.struct({vol: volHandle, capacity: t.uhyper, flags: t.uint}), t.voidType, {errDomain: STORAGE}),
  STORAGE_POOL_LIST_ALL_VOLUMES: proc(
    282,
    t.struct({pool: poolHandle, need_results: t.int, flags: t.uint}),
    t.struct({vols: t.array(volHandle, LIST_MAX), ret: t.uint}),
    {ro: true, errDomain: STORAGE},
  ),
  STORAGE_VOL_GET_INFO_FLAGS: proc(378, volFlags, volInfo, {ro: true, errDomain: STORAGE}),
}
