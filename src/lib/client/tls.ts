/**
 * The client side of libvirt's TLS transport: the CA certificate (required) and the client
 * certificate and key (sent when both exist) from ?pkipath=DIR, /etc/pki as root, else
 * ~/.pki/libvirt; then the handshake and the server's one-byte confirmation before RPC starts.
 */
import {connect as tlsConnect, type TLSSocket} from 'node:tls'
import {readFileSync} from 'node:fs'
import {isIP} from 'node:net'
import {ErrorCode, ErrorDomain, VirError} from '../errors.js'
import type {ParsedUri} from '../uri.js'

/** libvirt's default TLS port (virtd-tls). */
export const DEFAULT_TLS_PORT = 16514
/** The byte the server sends once the TLS session is up. */
const SESSION_CONFIRMED = 1

export interface ClientPki {
  ca: string
  cert: string
  key: string
}

/** Where libvirt's client looks for its CA, certificate and key. */
export function clientPkiPaths(uri: ParsedUri, env: NodeJS.ProcessEnv = process.env, isRoot = process.getuid?.() === 0): ClientPki {
  const dir = uri.params.get('pkipath')
  if (dir) return {ca: `${dir}/cacert.pem`, cert: `${dir}/clientcert.pem`, key: `${dir}/clientkey.pem`}
  if (isRoot) return {ca: '/etc/pki/CA/cacert.pem', cert: '/etc/pki/libvirt/clientcert.pem', key: '/etc/pki/libvirt/private/clientkey.pem'}
  const home = `${env.HOME ?? '/root'}/.pki/libvirt`
  return {ca: `${home}/cacert.pem`, cert: `${home}/clientcert.pem`, key: `${home}/clientkey.pem`}
}

const ERRNO_TEXT: Record<string, string> = {ENOENT: 'No such file or directory', EACCES: 'Permission denied', EISDIR: 'Is a directory'}

function reason(err: unknown): string {
  const e = err as NodeJS.ErrnoException
  return (e.code && ERRNO_TEXT[e.code]) ?? e.message
}

/** Reads a PKI file, failing as libvirt does ("Cannot read CA certificate '...': No such file or directory"). */
function readPki(what: string, path: string): Buffer {
  try {
    return readFileSync(path)
  } catch (err) {
    throw new VirError(ErrorCode.SYSTEM_ERROR, ErrorDomain.RPC, `Cannot read ${what} '${path}': ${reason(err)}`)
  }
}

/** Reads a file that may be missing (libvirt's client then connects without a certificate). */
function readOptional(path: string): {data?: Buffer; missing?: string} {
  try {
    return {data: readFileSync(path)}
  } catch (err) {
    return {missing: `'${path}': ${reason(err)}`}
  }
}

export interface TlsCredentials {
  ca: Buffer
  cert?: Buffer
  key?: Buffer
  /** Why no client certificate is sent, for the error when the server wants one. */
  noClientCert?: string
}

export function loadClientCredentials(pki: ClientPki): TlsCredentials {
  const ca = readPki('CA certificate', pki.ca)
  const cert = readOptional(pki.cert)
  const key = readOptional(pki.key)
  if (cert.data && key.data) return {ca, cert: cert.data, key: key.data}
  const missing = cert.missing ? `client certificate ${cert.missing}` : `client key ${key.missing ?? ''}`
  return {ca, noClientCert: missing}
}

/** Connects, completes the handshake and waits for the server's confirmation byte. */
export async function connectTls(uri: ParsedUri, host: string): Promise<TLSSocket> {
  const creds = loadClientCredentials(clientPkiPaths(uri))
  const port = uri.port ?? DEFAULT_TLS_PORT
  const socket = tlsConnect({
    host,
    port,
    ca: creds.ca,
    cert: creds.cert,
    key: creds.key,
    rejectUnauthorized: uri.params.get('no_verify') !== '1',
    // SNI carries host names only (RFC 6066); the certificate is still checked against an IP.
    servername: isIP(host) ? undefined : host,
  })
  const rejected = () =>
    creds.noClientCert
      ? `server rejected the TLS session: no client certificate was sent (cannot read ${creds.noClientCert})`
      : 'server rejected our TLS certificate'
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', () => resolve())
      socket.once('error', (err: NodeJS.ErrnoException) => {
        const text =
          err.code === 'ECONNREFUSED'
            ? `unable to connect to server at '${host}:${port}': Connection refused`
            : `TLS connection to ${host} failed: ${err.message}`
        reject(new VirError(ErrorCode.SYSTEM_ERROR, ErrorDomain.RPC, text))
      })
    })
    const byte = await new Promise<Buffer>((resolve, reject) => {
      socket.once('readable', () => {
        const b = socket.read(1) as Buffer | null
        if (b) resolve(b)
        else reject(new VirError(ErrorCode.RPC, ErrorDomain.RPC, 'server closed the TLS session before confirming it'))
      })
      socket.once('end', () => reject(new VirError(ErrorCode.RPC, ErrorDomain.RPC, rejected())))
      socket.once('error', () => reject(new VirError(ErrorCode.RPC, ErrorDomain.RPC, rejected())))
    })
    if (byte[0] !== SESSION_CONFIRMED) throw new VirError(ErrorCode.RPC, ErrorDomain.RPC, `unexpected TLS confirmation byte ${byte[0]}`)
  } catch (err) {
    socket.destroy()
    throw err
  }
  return socket
}
