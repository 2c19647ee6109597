/**
 * What the REMOTE program's family tables share: the object handles and the common argument and
 * return layouts.
 */
import * as t from '../../codec.js'
import {ErrorDomain} from '../../../errors.js'

/** API families, whose error domain a read-only denial carries (default: domains). */
export const {NETWORK, STORAGE, SECRET} = ErrorDomain

export const LIST_MAX = 16384

export const domainHandle = t.struct({name: t.nonnullString, uuid: t.uuid, id: t.int})
export type DomainHandle = t.TypeOf<typeof domainHandle>
export const networkHandle = t.struct({name: t.nonnullString, uuid: t.uuid})
export type NetworkHandle = t.TypeOf<typeof networkHandle>
export const poolHandle = t.struct({name: t.nonnullString, uuid: t.uuid})
export type PoolHandle = t.TypeOf<typeof poolHandle>
export const volHandle = t.struct({pool: t.nonnullString, name: t.nonnullString, key: t.nonnullString})
export type VolHandle = t.TypeOf<typeof volHandle>
export const secretHandle = t.struct({uuid: t.uuid, usageType: t.int, usageID: t.nonnullString})
export type SecretHandle = t.TypeOf<typeof secretHandle>

export const s = t.nonnullString
export const dom = t.struct({dom: domainHandle})
export const domFlags = t.struct({dom: domainHandle, flags: t.uint})
export const net = t.struct({net: networkHandle})
export const pool = t.struct({pool: poolHandle})
export const poolFlags = t.struct({pool: poolHandle, flags: t.uint})
export const secret = t.struct({secret: secretHandle})
export const xmlArg = t.struct({xml: s})
export const xmlFlags = t.struct({xml: s, flags: t.uint})
export const num = t.struct({num: t.int})
export const names = t.struct({maxnames: t.int})
export const nameList = t.struct({names: t.array(s, LIST_MAX)})
export const xmlRet = t.struct({xml: s})
export const autostart = t.struct({autostart: t.int})
export const intRet = (field: string) => t.struct({[field]: t.int})
export const retDom = t.struct({dom: domainHandle})
export const retNet = t.struct({net: networkHandle})
export const retPool = t.struct({pool: poolHandle})
export const retSecret = t.struct({secret: secretHandle})
export const listAll = t.struct({need_results: t.int, flags: t.uint})
export const registerAny = <H>(h: t.Codec<H>) => t.struct({eventID: t.int, handle: t.optional(h)})
export const callbackId = t.struct({callbackID: t.int})
