/**
 * The REMOTE procedures of saving and restoring domains (DOMAIN_SAVE*, DOMAIN_RESTORE*,
 * DOMAIN_SAVE_IMAGE_*, DOMAIN_MANAGED_SAVE*), in procedure-number order. None is allowed on a
 * read-only connection but DOMAIN_MANAGED_SAVE_GET_XML_DESC without SECURE (and
 * DOMAIN_HAS_MANAGED_SAVE_IMAGE, in domain.ts).
 */
import * as t from '../../codec.js'
import {proc} from '../../program.js'
import {domFlags, domainHandle, s, xmlRet} from './types.js'

const params = t.typedParams(64)

export const domainSaveProcs = {
  DOMAIN_RESTORE: proc(54, t.struct({from: s}), t.voidType),
  DOMAIN_SAVE: proc(55, t.struct({dom: domainHandle, to: s}), t.voidType),
  DOMAIN_MANAGED_SAVE: proc(182, domFlags, t.voidType),
  DOMAIN_MANAGED_SAVE_REMOVE: proc(184, domFlags, t.voidType),
  DOMAIN_SAVE_FLAGS: proc(232, t.struct({dom: domainHandle, to: s, dxml: t.optString, flags: t.uint}), t.voidType),
  DOMAIN_RESTORE_FLAGS: proc(233, t.struct({from: s, dxml: t.optString, flags: t.uint}), t.voidType),
  DOMAIN_SAVE_IMAGE_GET_XML_DESC: proc(235, t.struct({file: s, flags: t.uint}), xmlRet),
  DOMAIN_SAVE_IMAGE_DEFINE_XML: proc(236, t.struct({file: s, dxml: s, flags: t.uint}), t.voidType),
  DOMAIN_MANAGED_SAVE_GET_XML_DESC: proc(388, domFlags, xmlRet, {ro: true}),
  DOMAIN_MANAGED_SAVE_DEFINE_XML: proc(389, t.struct({dom: domainHandle, dxml: t.optString, flags: t.uint}), t.voidType),
  DOMAIN_SAVE_PARAMS: proc(440, t.struct({dom: domainHandle, params, flags: t.uint}), t.voidType),
  DOMAIN_RESTORE_PARAMS: proc(441, t.struct({params, flags: t.uint}), t.voidType),
}
