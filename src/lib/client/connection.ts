/**
 * The client library shared by vctl's commands: opens a libvirt URI the way libvirt's remote
 * driver does (socket choice, auth list, keepalive, CONNECT_OPEN) and exposes typed calls.
 * Everything goes over the same RPC protocol third-party clients use.
 */
import {connect as tlsConnect} from 'node:tls'
import {readFileSync} from 'node:fs'
import {RpcClient, type ClientEvent} from '../rpc/client.js'
import {remote, Feature, type DomainHandle} from '../rpc/programs/remote.js'
import {admin} from '../rpc/programs/admin.js'
import type {ArgsOf, ProcDef, RetOf} from '../rpc/program.js'
import {chooseUnixSocket, defaultUri, parseUri, serverName, type ParsedUri} from '../uri.js'
import {ErrorCode, ErrorDomain, VirError} from '../errors.js'
import {uuidToBytes, uuidToString, isUuid} from '../uuid.js'

export interface OpenOptions {
  readonly?: boolean
  env?: NodeJS.ProcessEnv
}

type RemoteProcs = typeof remote.procs

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
      if (uri.transport === 'tcp') rpc = await RpcClient.connect({host, port: uri.port ?? 16509}, programs)
      else rpc = await connectTls(uri, host, programs)
    } else if (uri?.transport && uri.transport !== 'unix') {
      throw new VirError(
        ErrorCode.NO_CONNECT,
        ErrorDomain.REMOTE,
        `transport '${uri.transport}' is not supported by vctl's client (use unix, tcp or tls)`,
      )
    } else {
      socketPath = chooseUnixSocket(uri, {readonly: opts.readonly, env}).path
      rpc = await RpcClient.connect({path: socketPath}, programs)
    }
    const conn = new Connection(rpc, raw ?? '', socketPath)
    try {
      const auth = await conn.call(remote.procs.AUTH_LIST, undefined)
      const type = auth.types[0] ?? 0
      if (type === 2) await conn.call(remote.procs.AUTH_POLKIT, undefined)
      else if (type !== 0)
        throw new VirError(
          ErrorCode.AUTH_FAILED,
          ErrorDomain.REMOTE,
          `authentication failed: the server wants auth type ${type}, which vctl's client does not speak`,
        )
      await conn.call(remote.procs.CONNECT_SUPPORTS_FEATURE, {feature: Feature.PROGRAM_KEEPALIVE})
      await conn.call(remote.procs.CONNECT_OPEN, {name: uri ? serverName(uri) : '', flags: opts.readonly ? 1 : 0})
      if (!uri) conn.uri = (await conn.call(remote.procs.CONNECT_GET_URI, undefined)).uri
    } catch (err) {
      rpc.destroy()
      throw err
    }
    return conn
  }

  call<D extends ProcDef<any, any>>(def: D, args: ArgsOf<D>): Promise<RetOf<D>> {
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
    if (ident.length === 36 && isUuid(ident)) {
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

async function connectTls(uri: ParsedUri, host: string, programs: any[]): Promise<RpcClient> {
  const pki = uri.params.get('pkipath')
  const root = process.getuid?.() === 0
  const home = process.env.HOME ?? '/root'
  const ca = pki ? `${pki}/cacert.pem` : root ? '/etc/pki/CA/cacert.pem' : `${home}/.pki/libvirt/cacert.pem`
  const cert = pki ? `${pki}/clientcert.pem` : root ? '/etc/pki/libvirt/clientcert.pem' : `${home}/.pki/libvirt/clientcert.pem`
  const key = pki ? `${pki}/clientkey.pem` : root ? '/etc/pki/libvirt/private/clientkey.pem' : `${home}/.pki/libvirt/clientkey.pem`
  const noVerify = uri.params.get('no_verify') === '1'
  const socket = tlsConnect({
    host,
    port: uri.port ?? 16514,
    ca: readFileSync(ca),
    cert: readFileSync(cert),
    key: readFileSync(key),
    rejectUnauthorized: !noVerify,
    servername: host,
  })
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', () => resolve())
    socket.once('error', (err) => reject(new VirError(ErrorCode.SYSTEM_ERROR, ErrorDomain.RPC, `TLS connection to ${host} failed: ${err.message}`)))
  })
  // The server confirms the session with one byte before RPC starts.
  const byte = await new Promise<Buffer>((resolve, reject) => {
    socket.once('readable', () => {
      const b = socket.read(1) as Buffer | null
      if (b) resolve(b)
      else reject(new VirError(ErrorCode.RPC, ErrorDomain.RPC, 'server closed the TLS session before confirming it'))
    })
    socket.once('end', () => reject(new VirError(ErrorCode.RPC, ErrorDomain.RPC, 'server rejected our TLS certificate')))
  })
  if (byte[0] !== 1) throw new VirError(ErrorCode.RPC, ErrorDomain.RPC, `unexpected TLS confirmation byte ${byte[0]}`)
  return RpcClient.fromSocket(socket, programs)
}

/** Opens the admin socket of a daemon (what virt-admin uses). */
export async function openAdmin(
  path: string,
): Promise<{rpc: RpcClient; call: <D extends ProcDef<any, any>>(def: D, args: ArgsOf<D>) => Promise<RetOf<D>>}> {
  const rpc = await RpcClient.connect({path}, [admin])
  const call = <D extends ProcDef<any, any>>(def: D, args: ArgsOf<D>) => rpc.call(admin, def, args) as Promise<RetOf<D>>
  await call(admin.procs.CONNECT_OPEN, {flags: 0})
  return {rpc, call}
}

export {uuidToString}
export type {RemoteProcs}
