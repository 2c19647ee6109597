/**
 * A program is a numbered set of procedures. One declarative table per program drives both the
 * server's dispatch (decode args, access checks, encode reply) and the client's calls.
 */
import type {Codec} from './codec.js'

export interface ProcAccess {
  /** Allowed on a read-only connection. */
  ro?: boolean
  /** Allowed before CONNECT_OPEN. */
  preOpen?: boolean
  /** Allowed before authentication completes. */
  preAuth?: boolean
  /**
   * Error domain of the procedure's API family (virErrorDomain): a read-only denial is reported
   * in it, as libvirt's public API reports it from the file the function lives in.
   */
  errDomain?: number
}

export interface ProcDef<A, R> extends Required<ProcAccess> {
  num: number
  name: string
  args: Codec<A>
  ret: Codec<R>
}

export interface EventDef<M> {
  num: number
  name: string
  body: Codec<M>
}

/** Any procedure or event, whatever its layouts (codecs are bivariant, so every ProcDef fits). */
export type AnyProcDef = ProcDef<unknown, unknown>
export type AnyEventDef = EventDef<unknown>

/** virErrorDomain VIR_FROM_DOMAIN: the family of procedures that do not name another. */
const DEFAULT_ERR_DOMAIN = 20

export function proc<A, R>(num: number, args: Codec<A>, ret: Codec<R>, access: ProcAccess = {}): ProcDef<A, R> {
  return {
    num,
    name: '',
    args,
    ret,
    ro: access.ro ?? false,
    preOpen: access.preOpen ?? false,
    preAuth: access.preAuth ?? false,
    errDomain: access.errDomain ?? DEFAULT_ERR_DOMAIN,
  }
}

export function event<M>(num: number, body: Codec<M>): EventDef<M> {
  return {num, name: '', body}
}

export interface Program<P extends Record<string, AnyProcDef>, E extends Record<string, AnyEventDef>> {
  name: string
  prog: number
  vers: number
  procs: P
  events: E
  byNum: Map<number, AnyProcDef>
  eventsByNum: Map<number, AnyEventDef>
}

export type AnyProgram = Program<Record<string, AnyProcDef>, Record<string, AnyEventDef>>

export function defineProgram<P extends Record<string, AnyProcDef>, E extends Record<string, AnyEventDef> = Record<string, never>>(
  name: string,
  prog: number,
  vers: number,
  procs: P,
  events?: E,
): Program<P, E> {
  const byNum = new Map<number, AnyProcDef>()
  for (const [key, def] of Object.entries(procs)) {
    def.name = key
    if (byNum.has(def.num)) throw new Error(`${name}: procedure number ${def.num} declared twice`)
    byNum.set(def.num, def)
  }
  const eventsByNum = new Map<number, AnyEventDef>()
  for (const [key, def] of Object.entries(events ?? {})) {
    def.name = key
    eventsByNum.set(def.num, def)
  }
  return {name, prog, vers, procs, events: events ?? ({} as E), byNum, eventsByNum}
}

export type ArgsOf<D> = D extends ProcDef<infer A, unknown> ? A : never
export type RetOf<D> = D extends ProcDef<unknown, infer R> ? R : never
export type BodyOf<D> = D extends EventDef<infer M> ? M : never
