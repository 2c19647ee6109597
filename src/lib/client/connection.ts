/**
 * The client library shared by vctl's commands: opens a libvirt URI the way libvirt's remote
 * driver does (socket choice, auth list, keepalive, CONNECT_OPEN). Everything goes over the same
 * RPC protocol third-party clients use. The procedures themselves are called from the modules
 * beside this one (domains.ts, host.ts, ...), which commands use.
 */
import {RpcClient, type ClientEvent} from '../rpc/client.js'
import {remote, Feature, type DomainHandle} from '../rpc/programs/remote.js'
import {admin} from '../rpc/programs/admin.js'
import type {ProcDef} from '../rpc/program.js'
import {chooseUnixSocket, defaultUri, parseUri, serverName, type ParsedUri} from '../uri.js'
import {ErrorCode, ErrorDomain, VirError} from '../errors.js'
import {uuidToBytes, isUuid} from '../uuid.js'
import {AuthType, ConnectFlags} from './flags.js'

/** libvirt's default plain TCP port (virtd-tcp). */
export const DEFAULT_TCP_PORT = 16509
const UUID_LENGTH = 36

export interface OpenOptions {
  readonly?: boolean
  env?: NodeJS.ProcessEnv
}

export class Connection {
  readonly rpc: RpcClient
  /** The URI the daemon says this connection is on. */
  uri: string
  readonly socketPath: string | undefined

  private constructor(rpc: RpcClient, uri: string, socketPath?: string) {
    this.rpc = rpc
    this.uri = uri
    this.socketPath = socketPath
  }

  static async open(uriArg?: string, opts: OpenOptions = {}): Promise<Connection> {
    const env = opts.env ?? process.env
    const raw = defaultUri(uriArg, env)
    const uri: ParsedUri | undefined = raw ? parseUri(raw) : undefined
    let rpc: RpcClient
    let socketPath: string | undefined
    const programs = [remote]
    if (uri && (uri.transport === 'tcp' || uri.transport === 'tls')) {
      const host = uri.host || 'localhost'
      if (uri.transport === 'tcp') rpc = await RpcClient.connect({host, port: uri.port ?? DEFAULT_TCP_PORT}, programs)
      else {
        const {connectTls} = await import('./tls.js')
        rpc = RpcClient.fromSocket(await connectTls(uri, host), programs)
      }
    } else if (uri?.transport === 'ssh') {
      const {connectSsh} = await import('./ssh-transport.js')
      rpc = RpcClient.fromSocket(connectSsh(uri, opts.readonly ?? false), programs)
    } else if (uri?.transport && uri.transport !== 'unix') {
      throw new VirError(
        ErrorCode.NO_CONNECT,
        ErrorDomain.REMOTE,
        `transport '${uri.transport}' is not supported by vctl's client (use unix, tcp, tls or ssh)`,
      )
    } else {
      socketPath = chooseUnixSocket(uri, {readonly: opts.readonly, env}).path
      rpc = await RpcClient.connect({path: socketPath}, programs)
    }
    const conn = new Connection(rpc, raw ?? '', socketPath)
    try {
      await conn.authenticate(uri, env)
      await conn.call(remote.procs.CONNECT_SUPPORTS_FEATURE, {feature: Feature.PROGRAM_KEEPALIVE})
      await conn.call(remote.procs.CONNECT_OPEN, {name: uri ? serverName(uri) : '', flags: opts.readonly ? ConnectFlags.RO : 0})
      if (!uri) conn.uri = (await conn.call(remote.procs.CONNECT_GET_URI, undefined)).uri
    } catch (err) {
      rpc.destroy()
      throw err
    }
    return conn
  }

  /** Takes the first scheme the server offers; vctl's client speaks none, polkit and SASL (SCRAM). */
  private async authenticate(uri: ParsedUri | undefined, env: NodeJS.ProcessEnv): Promise<void> {
    const auth = await this.call(remote.procs.AUTH_LIST, undefined)
    const type = auth.types[0] ?? AuthType.NONE
    if (type === AuthType.POLKIT) await this.call(remote.procs.AUTH_POLKIT, undefined)
    else if (type === AuthType.SASL) {
      const [{saslAuthenticate}, {saslCredentials}] = await Promise.all([import('../rpc/sasl/client.js'), import('./auth-conf.js')])
      await saslAuthenticate(
        (def, args) => this.call(def, args),
        () => saslCredentials(uri, env),
        {host: uri?.host || 'localhost', secure: uri?.transport !== 'tcp', setLayer: (l) => this.rpc.setSecurityLayer(l)},
      )
    } else if (type !== AuthType.NONE)
      throw new VirError(
        ErrorCode.AUTH_FAILED,
        ErrorDomain.REMOTE,
        `authentication failed: the server wants auth type ${type}, which vctl's client does not speak`,
      )
  }

  /** One call of the REMOTE program (for the modules of src/lib/client, not for commands). */
  call<A, R>(def: ProcDef<A, R>, args: A): Promise<R> {
    return this.rpc.call(remote, def, args)
  }

  async close(): Promise<void> {
    if (this.rpc.isClosed) return
    try {
      await this.call(remote.procs.CONNECT_CLOSE, undefined)
    } catch {
      // the daemon closes the socket right after replying
    }
    this.rpc.destroy()
  }

  /** Resolves a domain the way virsh does: numeric ID, then UUID, then name. */
  async lookupDomain(ident: string): Promise<DomainHandle> {
    const P = remote.procs
    if (/^\d+$/.test(ident)) {
      try {
        return (await this.call(P.DOMAIN_LOOKUP_BY_ID, {id: Number(ident)})).dom
      } catch (err) {
        if (!(err instanceof VirError) || err.code !== ErrorCode.NO_DOMAIN) throw err
      }
    }
    if (ident.length === UUID_LENGTH && isUuid(ident)) {
      try {
        return (await this.call(P.DOMAIN_LOOKUP_BY_UUID, {uuid: uuidToBytes(ident)})).dom
      } catch (err) {
        if (!(err instanceof VirError) || err.code !== ErrorCode.NO_DOMAIN) throw err
      }
    }
    return (await this.call(P.DOMAIN_LOOKUP_BY_NAME, {name: ident})).dom
  }

  onEvent(fn: (e: ClientEvent) => void): void {
    this.rpc.on('event', fn)
  }
}

export interface AdminConnection {
  rpc: RpcClient
  call: <A, R>(def: ProcDef<A, R>, args: A) => Promise<R>
}

/** Opens the admin socket of a daemon (what virt-admin uses). */
export async function openAdmin(path: string): Promise<AdminConnection> {
  const rpc = await RpcClient.connect({path}, [admin])
  const call = <A, R>(def: ProcDef<A, R>, args: A): Promise<R> => rpc.call(admin, def, args)
  await call(admin.procs.CONNECT_OPEN, {flags: 0})
  return {rpc, call}
}
