/**
 * What the tuning calls of every hypervisor driver share: libvirt's resolution of the
 * LIVE / CONFIG / CURRENT flags against a domain (virDomainObjUpdateModificationImpact), its flag
 * check, and typed-parameter validation (virTypedParamsValidate).
 */
import {ErrorCode, ErrorDomain, VirError, errors} from '../errors.js'
import {isActive, type DomainObj} from '../conf/domain-list.js'
import type {DomainDef} from '../conf/domain.js'
import {Affect, type TunableParam, type TunableType} from './tuning-types.js'

export interface Impact {
  /** The live definition to change (active domains, LIVE). */
  live?: DomainDef
  /** The persistent definition to change (CONFIG). */
  config?: DomainDef
}

/** libvirt's virCheckFlags: unknown bits are refused with the driver function's name. */
export function checkFlags(flags: number, allowed: number, fn: string, domain: number): void {
  const extra = flags & ~allowed
  if (extra !== 0) {
    throw new VirError(ErrorCode.INVALID_ARG, domain, `unsupported flags (0x${extra.toString(16)}) in function ${fn}`, {str1: fn, str2: 'flags'})
  }
}

/** The definitions a call with `flags` changes or reads. */
export function resolveImpact(o: DomainObj, flags: number): Impact {
  let f = flags & (Affect.LIVE | Affect.CONFIG)
  const active = isActive(o)
  if (f === Affect.CURRENT) f = active ? Affect.LIVE : Affect.CONFIG
  if (f & Affect.LIVE && !active) throw errors.operationInvalid(ErrorDomain.DOMAIN, 'domain is not running')
  if (f & Affect.CONFIG && !o.config) throw errors.operationInvalid(ErrorDomain.DOMAIN, 'transient domains do not have any persistent config')
  return {live: f & Affect.LIVE ? o.live : undefined, config: f & Affect.CONFIG ? o.config : undefined}
}

/** For getters, where LIVE and CONFIG together are refused. */
export function resolveOne(o: DomainObj, flags: number): {def: DomainDef; live: boolean} {
  if ((flags & (Affect.LIVE | Affect.CONFIG)) === (Affect.LIVE | Affect.CONFIG)) {
    throw errors.invalidArg(ErrorDomain.DOMAIN, "flags 'affect live' and 'affect config' are mutually exclusive")
  }
  const i = resolveImpact(o, flags)
  const def = i.live ?? i.config
  if (!def) throw errors.operationInvalid(ErrorDomain.DOMAIN, 'domain is not running')
  return {def, live: i.live !== undefined}
}

/** virTypedParamsValidate: every parameter known, of its type, none twice (unless `multi`). */
export function validateParams(params: TunableParam[], known: Record<string, TunableType>, multi: readonly string[] = []): void {
  const seen = new Set<string>()
  for (const p of params) {
    const want = known[p.field] as TunableType | undefined
    if (want === undefined) {
      throw new VirError(ErrorCode.ARGUMENT_UNSUPPORTED, ErrorDomain.NONE, `argument unsupported: parameter '${p.field}' not supported`, {
        str1: 'argument unsupported: %s',
        str2: `parameter '${p.field}' not supported`,
      })
    }
    if (p.type !== want) {
      throw errors.invalidArg(ErrorDomain.NONE, `invalid type '${p.type}' for parameter '${p.field}', expected '${want}'`)
    }
    if (seen.has(p.field) && !multi.includes(p.field)) throw errors.invalidArg(ErrorDomain.NONE, `parameter '${p.field}' occurs multiple times`)
    seen.add(p.field)
  }
}
