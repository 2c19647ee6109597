/**
 * The server side of SASL authentication (AUTH_SASL_INIT / START / STEP), as libvirt's daemons do
 * it: the mechanism list depends on the channel (libvirt asks cyrus-sasl for an SSF of at least 56
 * on plain TCP, and for none on UNIX sockets and TLS), the client's identity is checked against
 * sasl_allowed_username_list (fnmatch globs), and every failure is libvirt's one answer,
 * VIR_ERR_AUTH_FAILED "authentication failed" (the details go to the log). On UNIX sockets and TLS
 * vctl offers SCRAM-SHA-256 and SCRAM-SHA-1 (SSF 0: no security layer); on plain TCP DIGEST-MD5
 * with qop auth-conf only (rc4-56, rc4, 3des: SSF 56 to 128), whose security layer then wraps every
 * later byte of the connection (rpc/sasl/layer.ts). As libvirtd, a negotiated SSF below 56 on plain
 * TCP is refused. A client that has not finished within the auth timeout is disconnected.
 */
import {ErrorCode, ErrorDomain, VirError} from '../errors.js'
import type {RpcConnection} from '../rpc/server.js'
import {authSaslProcs as S} from '../rpc/programs/remote/auth-sasl.js'
import {SCRAM_MECHS, ScramError, ScramServer} from '../rpc/sasl/scram.js'
import {DIGEST_MECH, defaultRealm, lookupSecret} from '../rpc/sasl/userdb.js'
import {DigestError} from '../rpc/sasl/digest-md5.js'
import {digestMech, type Mech} from './auth-digest.js'
import type {On} from './remote/context.js'

/** remote_auth_type SASL */
const AUTH_SASL = 1
/** libvirt's minimum SSF on an insecure channel ("good enough to require kerberos"). */
export const MIN_SSF_INSECURE = 56
/** vctl's mechanisms and the most SSF each gives (SCRAM has no security layer). */
const MECHS: Array<[string, number]> = [
  ['SCRAM-SHA-256', 0],
  ['SCRAM-SHA-1', 0],
  [DIGEST_MECH, 128],
]

export interface SaslServerOptions {
  /** The auth scheme of the connection's listener (remote_auth_type). */
  authType: (conn: RpcConnection) => number
  /** UNIX socket or TLS: no SSF needed from SASL. */
  isSecure: (conn: RpcConnection) => boolean
  /** vctl's SASL user database (see rpc/sasl/userdb.ts). */
  userDb: string
  /** sasl_allowed_username_list; undefined admits every authenticated user. */
  allowedUsers: () => string[] | undefined
  /** How long a client may take from AUTH_SASL_INIT to success before it is dropped. */
  timeoutMs: number
  log?: (msg: string) => void
}

interface Session {
  mech?: string
  server?: Mech
  timer: NodeJS.Timeout
}

const sessions = new WeakMap<RpcConnection, Session>()

/** fnmatch(3) without flags: `*`, `?`, `[...]` (with `!` or `^` negation), `\` escapes. */
export function globMatch(pattern: string, s: string): boolean {
  let re = '^'
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]
    if (c === '*') re += '.*'
    else if (c === '?') re += '.'
    else if (c === '\\' && i + 1 < pattern.length) re += pattern[++i].replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&')
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 2)
      if (end < 0) re += '\\['
      else {
        let body = pattern.slice(i + 1, end)
        if (body[0] === '!' || body[0] === '^') body = '^' + body.slice(1)
        re += `[${body.replace(/\\/g, '\\\\')}]`
        i = end
      }
    } else re += c.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&')
  }
  return new RegExp(re + '$', 's').test(s)
}

/**
 * The mechanisms on offer for a connection: on plain TCP those that reach an SSF of 56, on a
 * secure channel those without a security layer (SCRAM; the channel protects the data already).
 */
export function mechanismsFor(secure: boolean): string[] {
  return MECHS.filter(([, ssf]) => (secure ? ssf === 0 : ssf >= MIN_SSF_INSECURE)).map(([m]) => m)
}

const authFailed = (): VirError => new VirError(ErrorCode.AUTH_FAILED, ErrorDomain.RPC, 'authentication failed: authentication failed')

export function registerAuthSasl(on: On, opts: SaslServerOptions): void {
  const log = (conn: RpcConnection, msg: string): void => opts.log?.(`client ${conn.id}: SASL: ${msg}`)
  const end = (conn: RpcConnection): void => {
    const s = sessions.get(conn)
    if (s) clearTimeout(s.timer)
    sessions.delete(conn)
  }
  const fail = (conn: RpcConnection, why: string): VirError => {
    log(conn, why)
    // The session is gone; the client may start over with AUTH_SASL_INIT (the timer goes on).
    const s = sessions.get(conn)
    if (s) {
      s.server = undefined
      s.mech = undefined
    }
    return authFailed()
  }

  const finish = (conn: RpcConnection, r: ReturnType<Mech['step']>): void => {
    const user = r.user ?? ''
    const ssf = r.ssf ?? 0
    if (!opts.isSecure(conn) && ssf < MIN_SSF_INSECURE) throw fail(conn, `negotiated SSF ${ssf} was not strong enough`)
    const allowed = opts.allowedUsers()
    if (allowed && !allowed.some((p) => globMatch(p, user))) throw fail(conn, `client identity '${user}' not allowed by sasl_allowed_username_list`)
    end(conn)
    conn.authenticated = true
    // The reply that completes authentication goes in clear, everything after through the layer.
    if (r.layer) conn.securityLayer.set(r.layer, (m) => log(conn, m))
    log(conn, `authenticated '${user}' (SSF ${ssf})`)
  }

  const step = (conn: RpcConnection, server: Mech, data: Buffer | undefined) => {
    let r
    try {
      r = server.step(data)
    } catch (err) {
      throw fail(conn, err instanceof ScramError || err instanceof DigestError ? err.message : `${server.name} failed: ${String(err)}`)
    }
    if (r.user === undefined) return {complete: 0, nil: 0, data: Buffer.from(r.out)}
    finish(conn, r)
    return {complete: 1, nil: 0, data: Buffer.from(r.out)}
  }

  on(S.AUTH_SASL_INIT, (conn) => {
    if (opts.authType(conn) !== AUTH_SASL || conn.authenticated) throw fail(conn, 'client tried invalid SASL init request')
    const prev = sessions.get(conn)
    if (prev?.server) throw fail(conn, 'client tried invalid SASL init request')
    const mechs = mechanismsFor(opts.isSecure(conn))
    if (mechs.length === 0) throw fail(conn, `no SASL mechanisms are available (none reaches the SSF of ${MIN_SSF_INSECURE} plain TCP requires)`)
    if (!prev) {
      const timer = setTimeout(() => {
        if (conn.authenticated) return
        log(conn, `no authentication within ${opts.timeoutMs} ms: disconnecting`)
        sessions.delete(conn)
        conn.close()
      }, opts.timeoutMs)
      timer.unref()
      sessions.set(conn, {timer})
      conn.onClose(() => end(conn))
    }
    return {mechlist: mechs.join(',')}
  })

  on(S.AUTH_SASL_START, (conn, {mech, nil, data}) => {
    const s = sessions.get(conn)
    if (!s || s.server || conn.authenticated) throw fail(conn, 'client tried invalid SASL start request')
    if (!mechanismsFor(opts.isSecure(conn)).includes(mech)) throw fail(conn, `mechanism '${mech}' not offered`)
    s.mech = mech
    if (mech === DIGEST_MECH) {
      s.server = digestMech({userDb: opts.userDb, realm: defaultRealm(), secure: opts.isSecure(conn), log: (m) => log(conn, m)})
      return step(conn, s.server, nil ? undefined : data)
    }
    const scram = new ScramServer(SCRAM_MECHS[mech], (user) => {
      try {
        return lookupSecret(opts.userDb, user, mech)
      } catch (err) {
        log(conn, `cannot read ${opts.userDb}: ${(err as Error).message}`)
        return undefined
      }
    })
    s.server = {name: mech, step: (d) => scram.step(d ?? Buffer.alloc(0))}
    if (nil) throw fail(conn, 'SCRAM needs an initial client response')
    return step(conn, s.server, data)
  })

  on(S.AUTH_SASL_STEP, (conn, {nil, data}) => {
    const s = sessions.get(conn)
    if (!s?.server || conn.authenticated) throw fail(conn, 'client tried invalid SASL step request')
    return step(conn, s.server, nil ? undefined : data)
  })
}
