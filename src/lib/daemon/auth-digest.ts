/**
 * DIGEST-MD5 for the daemon's SASL handlers (auth-sasl.ts): the server side of rpc/sasl/digest-md5.ts
 * with vctl's user database, as one of the mechanisms a SASL session steps through. On plain TCP it
 * offers only qop auth-conf with the ciphers of an SSF of 56 or more, as cyrus does when libvirt asks
 * for that SSF; a user whose password was set before vctl kept DIGEST-MD5 keys is refused with a
 * log line that says to set it again.
 */
import {DigestError, DigestServer} from '../rpc/sasl/digest-md5.js'
import type {SecurityLayer} from '../rpc/sasl/layer.js'
import {lookupDigest} from '../rpc/sasl/userdb.js'

/** One SASL mechanism's server side, as the handlers drive it. */
export interface Mech {
  name: string
  /** `data` undefined: the client sent none (nil). */
  step(data: Buffer | undefined): {out: string; user?: string; ssf?: number; layer?: SecurityLayer}
}

export interface DigestMechOptions {
  userDb: string
  realm: string
  /** A secure channel (UNIX, TLS) needs no SSF: every qop and cipher is offered there. */
  secure: boolean
  log: (msg: string) => void
}

export function digestMech(o: DigestMechOptions): Mech {
  const server = new DigestServer({
    service: 'libvirt',
    realm: o.realm,
    qops: o.secure ? ['auth', 'auth-int', 'auth-conf'] : ['auth-conf'],
    ciphers: o.secure ? ['rc4-40', 'rc4-56', 'rc4', '3des'] : ['rc4-56', 'rc4', '3des'],
    lookup: (user, realm) => {
      let r
      try {
        r = lookupDigest(o.userDb, user, realm)
      } catch (err) {
        o.log(`cannot read ${o.userDb}: ${(err as Error).message}`)
        return undefined
      }
      if (r.found === 'key') return r.key
      if (r.found === 'no-digest')
        throw new DigestError(
          `user '${user}' has no DIGEST-MD5 key (the password was set before vctl kept one): set it again with 'vctl sasl passwd ${user}'`,
        )
      if (r.found === 'no-realm') throw new DigestError(`user '${user}' has no DIGEST-MD5 key for realm '${realm}' (see 'vctl sasl passwd --realm')`)
      throw new DigestError(`unknown user '${user}'`)
    },
  })
  let started = false
  return {
    name: 'DIGEST-MD5',
    step(data) {
      if (!started) {
        started = true
        // DIGEST-MD5 begins with the server's challenge: a client's initial response is ignored.
        return {out: server.challenge()}
      }
      if (!data) throw new DigestError('DIGEST-MD5 response expected')
      return server.response(data.toString('utf8'))
    },
  }
}
