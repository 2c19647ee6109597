/**
 * The client side of libvirt's SASL exchange over RPC: AUTH_SASL_INIT for the server's mechanism
 * list, then SCRAM (SHA-256 preferred) through AUTH_SASL_START and AUTH_SASL_STEP, and the check of
 * the server's final signature. Credentials come from the caller (auth.conf or a prompt).
 */
import {ErrorCode, ErrorDomain, VirError} from '../../errors.js'
import type {ProcDef} from '../program.js'
import {authSaslProcs as S} from '../programs/remote/auth-sasl.js'
import {SCRAM_MECHS, ScramClient, ScramError} from './scram.js'

export type CallFn = <A, R>(def: ProcDef<A, R>, args: A) => Promise<R>

export interface SaslCredentials {
  authname: string
  password: string
}

const authError = (msg: string): VirError => new VirError(ErrorCode.AUTH_FAILED, ErrorDomain.REMOTE, msg)

/** Authenticates; `credentials` is asked for only once the server's mechanisms are known. */
export async function saslAuthenticate(call: CallFn, credentials: () => Promise<SaslCredentials | undefined>): Promise<string> {
  const {mechlist} = await call(S.AUTH_SASL_INIT, undefined)
  const offered = mechlist.split(/[ ,]+/).filter(Boolean)
  const mech = ['SCRAM-SHA-256', 'SCRAM-SHA-1'].find((m) => offered.includes(m))
  if (!mech) throw authError(`authentication failed: Failed to start SASL negotiation: no mechanism vctl's client speaks among '${mechlist}'`)
  const creds = await credentials()
  if (!creds) throw authError('authentication failed: no credentials for SASL (write them to auth.conf, or run on a terminal to be asked)')
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
