/**
 * The client side of libvirt's SASL exchange over RPC: AUTH_SASL_INIT for the server's mechanism
 * list, then SCRAM (SHA-256 preferred) or DIGEST-MD5 (what a daemon offers on plain TCP) through
 * AUTH_SASL_START and AUTH_SASL_STEP, and the check of the server's final proof. DIGEST-MD5's
 * security layer is handed to the caller, who puts the connection's later bytes through it; on a
 * channel that is not secure an SSF below 56 is refused, as libvirt's client does. Credentials
 * come from the caller (auth.conf or a prompt).
 */
import {ErrorCode, ErrorDomain, VirError} from '../../errors.js'
import type {ProcDef} from '../program.js'
import {authSaslProcs as S} from '../programs/remote/auth-sasl.js'
import {SCRAM_MECHS, ScramClient, ScramError} from './scram.js'
import {DigestClient, DigestError} from './digest-md5.js'
import type {Cipher, SecurityLayer} from './layer.js'

export type CallFn = <A, R>(def: ProcDef<A, R>, args: A) => Promise<R>

export interface SaslCredentials {
  authname: string
  password: string
}

const authError = (msg: string): VirError => new VirError(ErrorCode.AUTH_FAILED, ErrorDomain.REMOTE, msg)

export interface SaslChannel {
  /** The server's host name as the URI gives it (DIGEST-MD5's digest-uri). */
  host: string
  /** TLS or a UNIX socket: no SSF needed from SASL. */
  secure: boolean
  /** Installs DIGEST-MD5's security layer once authentication is complete. */
  setLayer: (layer: SecurityLayer) => void
  /** Forces DIGEST-MD5's cipher (tests). */
  cipher?: Cipher
}

/** libvirt's minimum SSF on a channel that is not secure. */
const MIN_SSF = 56

/** Authenticates; `credentials` is asked for only once the server's mechanisms are known. */
export async function saslAuthenticate(
  call: CallFn,
  credentials: () => Promise<SaslCredentials | undefined>,
  channel?: SaslChannel,
): Promise<string> {
  const {mechlist} = await call(S.AUTH_SASL_INIT, undefined)
  const offered = mechlist.split(/[ ,]+/).filter(Boolean)
  const mech = ['SCRAM-SHA-256', 'SCRAM-SHA-1', ...(channel ? ['DIGEST-MD5'] : [])].find((m) => offered.includes(m))
  if (!mech) throw authError(`authentication failed: Failed to start SASL negotiation: no mechanism vctl's client speaks among '${mechlist}'`)
  const creds = await credentials()
  if (!creds) throw authError('authentication failed: no credentials for SASL (write them to auth.conf, or run on a terminal to be asked)')
  if (mech === 'DIGEST-MD5' && channel) return digest(call, creds, channel)
  const client = new ScramClient(SCRAM_MECHS[mech], creds.authname, creds.password)
  let r = await call(S.AUTH_SASL_START, {mech, nil: 0, data: Buffer.from(client.first())})
  let sentFinal = false
  for (let rounds = 0; rounds < 4; rounds++) {
    const data = r.nil ? '' : r.data.toString('utf8')
    try {
      if (r.complete) {
        if (!sentFinal) throw new ScramError('the server ended the exchange early')
        client.verify(data)
        return mech
      }
      if (sentFinal) throw new ScramError('unexpected server challenge')
      const final = client.final(data)
      sentFinal = true
      r = await call(S.AUTH_SASL_STEP, {nil: 0, data: Buffer.from(final)})
    } catch (err) {
      if (err instanceof ScramError) throw authError(`authentication failed: ${err.message}`)
      throw err
    }
  }
  throw authError('authentication failed: SASL exchange did not complete')
}

async function digest(call: CallFn, creds: SaslCredentials, channel: SaslChannel): Promise<string> {
  const minSsf = channel.secure ? 0 : MIN_SSF
  const client = new DigestClient({
    service: 'libvirt',
    host: channel.host,
    user: creds.authname,
    password: creds.password,
    minSsf,
    cipher: channel.cipher,
  })
  try {
    const first = await call(S.AUTH_SASL_START, {mech: 'DIGEST-MD5', nil: 1, data: Buffer.alloc(0)})
    if (first.complete || first.nil) throw new DigestError('the server sent no DIGEST-MD5 challenge')
    const r = await call(S.AUTH_SASL_STEP, {nil: 0, data: Buffer.from(client.response(first.data.toString('utf8')))})
    if (!r.complete) throw new DigestError('the server did not complete the DIGEST-MD5 exchange')
    const {ssf, layer} = client.verify(r.nil ? '' : r.data.toString('utf8'))
    if (ssf < minSsf) throw new DigestError(`negotiated SSF ${ssf} was not strong enough`)
    if (layer) channel.setLayer(layer)
  } catch (err) {
    if (err instanceof DigestError) throw authError(`authentication failed: ${err.message}`)
    throw err
  }
  return 'DIGEST-MD5'
}
