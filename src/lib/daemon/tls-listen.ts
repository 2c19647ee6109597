/**
 * TLS listening sockets with libvirt's checks of the client's certificate (tls-peer.ts), and its
 * handshake confirmation byte. Loaded by listeners.ts only for a daemon that listens for TLS.
 */
import type {Server} from 'node:net'
import {createServer as createTlsServer, type TLSSocket, type TlsOptions} from 'node:tls'
import type {LogSink} from './logging.js'
import {checkTlsClient, parseCaBundle, type PeerVerdict} from './tls-peer.js'

/** TLS options plus libvirt's client certificate checks. */
export interface TlsListenOptions extends TlsOptions {
  /** tls_allowed_dn_list: glob patterns the client's DN must match (see tls-dn.ts). */
  allowedDn?: string[]
  /** Where refusals and certificate warnings are reported. */
  log?: Pick<LogSink, 'warn' | 'error'>
}

/** The options node:tls gets: verification stays on our side (see tls-peer.ts) so the purpose rules are libvirt's. */
function serverTlsOptions(tls: TlsListenOptions): TlsOptions {
  const {allowedDn: _allowedDn, log: _log, ...rest} = tls
  return {...rest, requestCert: true, rejectUnauthorized: false}
}

function onSecure(tls: TlsListenOptions, onConnection: (s: TLSSocket) => void, address: string) {
  // tls_no_verify_certificate: libvirt ignores every failed check, the DN list included.
  const requireValid = tls.rejectUnauthorized !== false
  const trusted = tls.ca ? parseCaBundle(tls.ca) : []
  return (s: TLSSocket) => {
    if (requireValid) {
      let verdict: PeerVerdict
      try {
        verdict = checkTlsClient(s, {trusted, allowedDn: tls.allowedDn})
      } catch (err) {
        verdict = {ok: false, reason: `Unable to verify TLS peer: ${(err as Error).message}`}
      }
      if (!verdict.ok) {
        // libvirt closes without confirming the session when the client's certificate is refused.
        tls.log?.error(`TLS client on ${address} refused: ${verdict.reason}`)
        s.destroy()
        return
      }
      for (const w of verdict.warnings) tls.log?.warn(w)
    }
    // libvirt's TLS handshake ends with the server confirming with a single 0x01 byte.
    s.write(Buffer.from([1]))
    onConnection(s)
  }
}

/** A TLS server: clients whose certificates pass libvirt's checks go to `onConnection`; `address` names it in refusals. */
export function tlsServer(tls: TlsListenOptions, onConnection: (s: TLSSocket) => void, address: string): Server {
  const server = createTlsServer(serverTlsOptions(tls))
  server.on('secureConnection', onSecure(tls, onConnection, address))
  server.on('tlsClientError', () => {})
  return server
}
