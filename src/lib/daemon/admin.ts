/**
 * The ADMIN program on the admin socket (what `virt-admin` talks to): servers, clients, limits,
 * and the daemon's idle timeout.
 */
import {ErrorCode, ErrorDomain, VirError} from '../errors.js'
import {admin} from '../rpc/programs/admin.js'
import {HandlerTable, type RpcConnection, type ServedProgram} from '../rpc/server.js'
import {TypedParamType, type TypedParam} from '../rpc/codec.js'
import {LIB_VERSION} from './remote.js'

/** virClientTransport: how a client is connected. */
export const ClientTransport = {UNIX: 0, TCP: 1, TLS: 2} as const

export interface AdminServerInfo {
  name: string
  clients: () => RpcConnection[]
  limits: () => {max: number; unauthMax: number}
  transport: (conn: RpcConnection) => number
  sockAddr: (conn: RpcConnection) => string
}

export interface AdminContext {
  servers: AdminServerInfo[]
  workers: {min: number; max: number; prio: number}
  setTimeout: (secs: number) => void
}

const P = admin.procs
const uint = (field: string, value: number): TypedParam => ({field, type: TypedParamType.UINT, value})

export function createAdminProgram(ctx: AdminContext): ServedProgram {
  const server = (name: string) => {
    const s = ctx.servers.find((x) => x.name === name)
    if (!s) throw new VirError(ErrorCode.NO_SERVER, ErrorDomain.ADMIN, `No server named '${name}'`)
    return s
  }
  const handle = (s: AdminServerInfo, c: RpcConnection) => ({
    srv: {name: s.name},
    id: c.id,
    timestamp: BigInt(Math.floor(c.connectedAt / 1000)),
    transport: s.transport(c),
  })
  const client = (srvName: string, id: bigint) => {
    const s = server(srvName)
    const c = s.clients().find((x) => x.id === id)
    if (!c) throw new VirError(ErrorCode.NO_CLIENT, ErrorDomain.ADMIN, `No client with matching ID '${id}'`)
    return {s, c}
  }
  const handlers = new HandlerTable()
    .on(P.CONNECT_OPEN, (conn) => {
      conn.opened = true
    })
    .on(P.CONNECT_CLOSE, () => undefined)
    .on(P.CONNECT_GET_LIB_VERSION, () => ({libVer: LIB_VERSION}))
    .on(P.CONNECT_LIST_SERVERS, (_c, {need_results}) => ({
      servers: need_results ? ctx.servers.map((s) => ({name: s.name})) : [],
      ret: ctx.servers.length,
    }))
    .on(P.CONNECT_LOOKUP_SERVER, (_c, {name}) => ({srv: {name: server(name).name}}))
    .on(P.SERVER_GET_THREADPOOL_PARAMETERS, (_c, {srv}) => {
      server(srv.name)
      return {
        params: [
          uint('minWorkers', ctx.workers.min),
          uint('maxWorkers', ctx.workers.max),
          uint('nWorkers', ctx.workers.min),
          uint('freeWorkers', ctx.workers.min),
          uint('prioWorkers', ctx.workers.prio),
          uint('jobQueueDepth', 0),
        ],
      }
    })
    .on(P.SERVER_LIST_CLIENTS, (_c, {srv, need_results}) => {
      const s = server(srv.name)
      const list = s.clients()
      return {clients: need_results ? list.map((c) => handle(s, c)) : [], ret: list.length}
    })
    .on(P.SERVER_LOOKUP_CLIENT, (_c, {srv, id}) => {
      const {s, c} = client(srv.name, id)
      return {clnt: handle(s, c)}
    })
    .on(P.CLIENT_GET_INFO, (_c, {clnt}) => {
      const {s, c} = client(clnt.srv.name, clnt.id)
      const params: TypedParam[] = [
        {field: 'readonly', type: TypedParamType.BOOLEAN, value: c.readonly},
        {field: 'sock_addr', type: TypedParamType.STRING, value: s.sockAddr(c)},
      ]
      return {params}
    })
    .on(P.CLIENT_CLOSE, (_c, {clnt}) => {
      client(clnt.srv.name, clnt.id).c.close()
    })
    .on(P.SERVER_GET_CLIENT_LIMITS, (_c, {srv}) => {
      const s = server(srv.name)
      const lim = s.limits()
      const list = s.clients()
      return {
        params: [
          uint('nclients_max', lim.max),
          uint('nclients', list.length),
          uint('nclients_unauth_max', lim.unauthMax),
          uint('nclients_unauth', list.filter((c) => !c.authenticated).length),
        ],
      }
    })
    .on(P.CONNECT_SET_DAEMON_TIMEOUT, (_c, {timeout}) => ctx.setTimeout(timeout))
  return {program: admin, handle: handlers.handle}
}
