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

export function proc<A, R>(num: number, args: Codec<A>, ret: Codec<R>, access: ProcAccess = {}): ProcDef<A, R> {
  return {num, name: '', args, ret, ro: access.ro ?? false, preOpen: access.preOpen ?? false, preAuth: access.preAuth ?? false}
}

export function event<M>(num: number, body: Codec<M>): EventDef<M> {
  return {num, name: '', body}
}

export interface Program<P extends Record<string, ProcDef<any, any>>, E extends Record<string, EventDef<any>>> {
  name: string
  prog: number
  vers: number
  procs: P
  events: E
  byNum: Map<number, ProcDef<any, any>>
  eventsByNum: Map<number, EventDef<any>>
}

export function defineProgram<P extends Record<string, ProcDef<any, any>>, E extends Record<string, EventDef<any>>>(
  name: string,
  prog: number,
  vers: number,
  procs: P,
  events: E = {} as E,
): Program<P, E> {
  const byNum = new Map<number, ProcDef<any, any>>()
  for (const [key, def] of Object.entries(procs)) {
    def.name = key
    if (byNum.has(def.num)) throw new Error(`${name}: procedure number ${def.num} declared twice`)
    byNum.set(def.num, def)
  }
  const eventsByNum = new Map<number, EventDef<any>>()
  for (const [key, def] of Object.entries(events)) {
    def.name = key
    eventsByNum.set(def.num, def)
  }
  return {name, prog, vers, procs, events, byNum, eventsByNum}
}

export type ArgsOf<D> = D extends ProcDef<infer A, any> ? A : never
export type RetOf<D> = D extends ProcDef<any, infer R> ? R : never
export type BodyOf<D> = D extends EventDef<infer M> ? M : never
