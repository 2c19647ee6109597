/**
 * What a served program is to the connection that dispatches to it: a handler per procedure
 * (HandlerTable types each by its procedure's layouts), and the error replies' helpers.
 */
import {ErrorCode, ErrorDomain, VirError} from '../errors.js'
import type {Packet} from './message.js'
import type {AnyProcDef, AnyProgram, ProcDef} from './program.js'
import type {RpcConnection} from './server.js'
import type {WithFds} from './fd-writer.js'

/** What a handler gives back: the reply's value, or the value with descriptors to pass beside it. */
export type HandlerResult<R> = R | WithFds<R> | Promise<R | WithFds<R>>

export type Handler = (conn: RpcConnection, def: AnyProcDef, args: unknown) => unknown

export interface ServedProgram {
  program: AnyProgram
  handle: Handler
  /**
   * Forwarding (the proxy daemon): once the connection is open, calls this program does not
   * handle itself are passed on raw; the forwarder sends the reply with `sendRaw` and accounts
   * for the call with `conn.track()`.
   */
  forward?: {local: Set<number>; call: (conn: RpcConnection, p: Packet) => void}
  /** The error for a procedure number absent from the table (default: "unknown procedure"). */
  unimplemented?: (conn: RpcConnection, proc: number) => VirError | undefined
}

/**
 * A program's handlers, one per procedure, each typed by its procedure's layouts; `handle` is
 * the ServedProgram's dispatcher.
 */
export class HandlerTable {
  private readonly fns = new Map<AnyProcDef, (conn: RpcConnection, args: unknown) => unknown>()

  on<A, R>(def: ProcDef<A, R>, fn: (conn: RpcConnection, args: A) => HandlerResult<R>): this {
    // The server decodes the arguments with def.args, so they are an A.
    this.fns.set(def, (conn, args) => fn(conn, args as A))
    return this
  }

  has(def: AnyProcDef): boolean {
    return this.fns.has(def)
  }

  defs(): AnyProcDef[] {
    return [...this.fns.keys()]
  }

  readonly handle: Handler = (conn, def, args) => {
    const fn = this.fns.get(def)
    if (!fn) throw new VirError(ErrorCode.RPC, ErrorDomain.RPC, `unknown procedure: ${def.num}`)
    return fn(conn, args)
  }
}

export function asVirError(err: unknown): VirError {
  if (err instanceof VirError) return err
  const msg = err instanceof Error ? err.message : String(err)
  return new VirError(ErrorCode.INTERNAL_ERROR, ErrorDomain.RPC, `internal error: ${msg}`, {str1: 'internal error: %s', str2: msg})
}

const API_WORDS: Record<string, string> = {
  XML: 'XML',
  UUID: 'UUID',
  ID: 'ID',
  OS: 'OS',
  CPU: 'CPU',
  FD: 'FD',
  NWFILTER: 'NWFilter',
  NWFILTERS: 'NWFilters',
}

/** REMOTE_PROC name -> public API name, e.g. DOMAIN_DEFINE_XML -> virDomainDefineXML. */
export function apiName(procName: string): string {
  return (
    'vir' +
    procName
      .split('_')
      .map((w) => API_WORDS[w] ?? w.charAt(0) + w.slice(1).toLowerCase())
      .join('')
  )
}
