/**
 * DIGEST-MD5 (RFC 2831) as cyrus-sasl's digestmd5 plug-in speaks it, both sides, initial
 * authentication only (no re-authentication): the server's challenge, the client's response, the
 * server's rspauth, and the keys of the security layer (layer.ts) that qop auth-int / auth-conf
 * switch on. The server keeps H(user:realm:password) per realm (see userdb.ts), never the password.
 * Ciphers: rc4, rc4-56, rc4-40 and 3des (two-key triple DES in CBC mode); single DES is not offered.
 */
import {createHash, randomBytes, timingSafeEqual} from 'node:crypto'
import {securityLayer, type Cipher, type Qop, type SecurityLayer} from './layer.js'

export class DigestError extends Error {}

/** What the server keeps for one user: H({user, ":", realm, ":", password}) per realm, hex. */
export interface DigestSecret {
  realms: Record<string, string>
}

/** The SSF each cipher gives (cyrus' figures); auth-int gives 1, auth 0. */
export const CIPHER_SSF: Record<Cipher, number> = {'rc4-40': 40, 'rc4-56': 56, rc4: 128, '3des': 112}
/** The bytes of H(A1) that key each cipher. */
const CIPHER_KEY_BYTES: Record<Cipher, number> = {'rc4-40': 5, 'rc4-56': 7, rc4: 16, '3des': 16}
/** The client's preference, strongest first (cyrus picks rc4 when it is offered). */
const CLIENT_CIPHERS: Cipher[] = ['rc4', '3des', 'rc4-56', 'rc4-40']
/** What this side accepts from the peer in one unit. */
export const DIGEST_MAXBUF = 65536

const md5 = (...parts: Array<string | Buffer>): Buffer => {
  const h = createHash('md5')
  for (const p of parts) h.update(p)
  return h.digest()
}
const hex = (b: Buffer): string => b.toString('hex')

/** RFC 2831 §2.1.2.1: with charset=utf-8, strings that fit ISO 8859-1 are hashed in it. */
const enc = (s: string): Buffer => (/^[\0-\xff]*$/.test(s) ? Buffer.from(s, 'latin1') : Buffer.from(s, 'utf8'))

/** H({user, ":", realm, ":", password}), what the user database keeps (hex). */
export function userRealmHash(user: string, realm: string, password: string): string {
  return hex(md5(enc(user), ':', enc(realm), ':', enc(password)))
}

/** Parses "k=v, k="v"" directives; keys lower-cased; a repeated key is an error. */
export function parseDirectives(msg: string): Map<string, string> {
  const out = new Map<string, string>()
  let i = 0
  const ws = () => {
    while (i < msg.length && /[\s,]/.test(msg[i])) i++
  }
  ws()
  while (i < msg.length) {
    const eq = msg.indexOf('=', i)
    if (eq < 0) throw new DigestError('malformed DIGEST-MD5 directive')
    const key = msg.slice(i, eq).trim().toLowerCase()
    if (!/^[a-z0-9-]+$/.test(key)) throw new DigestError('malformed DIGEST-MD5 directive name')
    i = eq + 1
    while (msg[i] === ' ' || msg[i] === '\t') i++
    let value = ''
    if (msg[i] === '"') {
      i++
      for (;;) {
        if (i >= msg.length) throw new DigestError('unterminated quoted string')
        const c = msg[i++]
        if (c === '"') break
        value += c === '\\' && i < msg.length ? msg[i++] : c
      }
    } else {
      const end = msg.indexOf(',', i)
      value = (end < 0 ? msg.slice(i) : msg.slice(i, end)).trim()
      i = end < 0 ? msg.length : end
    }
    if (out.has(key)) throw new DigestError(`directive '${key}' repeated`)
    out.set(key, value)
    while (msg[i] === ' ' || msg[i] === '\t') i++
    if (i < msg.length && msg[i] !== ',') throw new DigestError('malformed DIGEST-MD5 directive list')
    ws()
  }
  return out
}

const quote = (s: string): string => `"${s.replace(/(["\\])/g, '\\$1')}"`

interface Session {
  hA1: Buffer
  nonce: string
  cnonce: string
  nc: string
  qop: Qop
  digestUri: string
}

/** response (client: A2 starts "AUTHENTICATE") or rspauth (server: A2 starts empty). */
function digestValue(s: Session, a2Prefix: string): string {
  const a2 = `${a2Prefix}:${s.digestUri}${s.qop === 'auth' ? '' : ':00000000000000000000000000000000'}`
  return hex(md5(hex(s.hA1), ':', s.nonce, ':', s.nc, ':', s.cnonce, ':', s.qop, ':', hex(md5(a2))))
}

/** H(A1) of md5-sess from the stored H(user:realm:password). */
const sessionKey = (urp: Buffer, nonce: string, cnonce: string, authzid?: string): Buffer =>
  md5(urp, ':', nonce, ':', cnonce, ...(authzid ? [':', enc(authzid)] : []))

/** The security layer's keys and state for one side (RFC 2831 §2.3, §2.4). */
function layerFor(s: Session, cipher: Cipher | undefined, side: 'client' | 'server', peerMaxbuf: number): SecurityLayer | undefined {
  if (s.qop === 'auth') return undefined
  const cs = 'Digest session key to client-to-server signing key magic constant'
  const sc = 'Digest session key to server-to-client signing key magic constant'
  const kic = md5(s.hA1, cs)
  const kis = md5(s.hA1, sc)
  let kcc: Buffer | undefined
  let kcs: Buffer | undefined
  if (s.qop === 'auth-conf') {
    if (!cipher) throw new DigestError('auth-conf without a cipher')
    const n = CIPHER_KEY_BYTES[cipher]
    kcc = md5(s.hA1.subarray(0, n), 'Digest H(A1) to client-to-server sealing key magic constant')
    kcs = md5(s.hA1.subarray(0, n), 'Digest H(A1) to server-to-client sealing key magic constant')
  }
  const mine = side === 'client' ? {mac: kic, key: kcc} : {mac: kis, key: kcs}
  const theirs = side === 'client' ? {mac: kis, key: kcs} : {mac: kic, key: kcc}
  return securityLayer({qop: s.qop, cipher, out: mine, in: theirs, peerMaxbuf, maxbuf: DIGEST_MAXBUF})
}

export interface DigestServerResult {
  out: string
  /** Set once the client is authenticated. */
  user?: string
  ssf?: number
  layer?: SecurityLayer
}

export interface DigestServerOptions {
  service: string
  realm: string
  /** Qualities of protection on offer (only auth-conf on a channel that needs an SSF of 56). */
  qops: Qop[]
  ciphers: Cipher[]
  /** H(user:realm:password) (hex) of a user, or undefined (unknown user, or no DIGEST-MD5 key). */
  lookup: (user: string, realm: string) => string | undefined
  /** The nonce (random unless given, for test vectors). */
  nonce?: string
}

/** The server side of one exchange: challenge(), then response(); errors throw DigestError. */
export class DigestServer {
  private readonly nonce: string
  private state: 'challenge' | 'response' | 'done' = 'challenge'

  constructor(private readonly opts: DigestServerOptions) {
    this.nonce = opts.nonce ?? randomBytes(32).toString('base64')
  }

  challenge(): string {
    if (this.state !== 'challenge') throw new DigestError('DIGEST-MD5 exchange out of order')
    this.state = 'response'
    const o = this.opts
    const parts = [`nonce=${quote(this.nonce)}`, `realm=${quote(o.realm)}`, `qop=${quote(o.qops.join(','))}`]
    if (o.qops.includes('auth-conf')) parts.push(`cipher=${quote(o.ciphers.join(','))}`)
    parts.push(`maxbuf=${DIGEST_MAXBUF}`, 'charset=utf-8', 'algorithm=md5-sess')
    return parts.join(',')
  }

  response(input: string): DigestServerResult {
    if (this.state !== 'response') throw new DigestError('DIGEST-MD5 exchange out of order')
    this.state = 'done'
    const d = parseDirectives(input)
    const need = (k: string): string => {
      const v = d.get(k)
      if (v === undefined) throw new DigestError(`DIGEST-MD5 response lacks '${k}'`)
      return v
    }
    const user = need('username')
    const realm = d.get('realm') ?? ''
    if (need('nonce') !== this.nonce) throw new DigestError('DIGEST-MD5 nonce mismatch')
    const cnonce = need('cnonce')
    const nc = need('nc')
    if (!/^0*1$/.test(nc) || nc.length !== 8) throw new DigestError(`DIGEST-MD5 nonce count '${nc}' is not 00000001`)
    const qop = (d.get('qop') ?? 'auth') as Qop
    if (!this.opts.qops.includes(qop)) throw new DigestError(`quality of protection '${qop}' not offered`)
    const cipherName = d.get('cipher')
    let cipher: Cipher | undefined
    if (qop === 'auth-conf') {
      cipher = this.opts.ciphers.find((c) => c === cipherName?.toLowerCase())
      if (!cipher) throw new DigestError(`cipher '${cipherName ?? ''}' not offered`)
    }
    const maxbuf = Number(d.get('maxbuf') ?? 65536)
    if (!Number.isInteger(maxbuf) || maxbuf < 64 || maxbuf > 16777215) throw new DigestError('bad maxbuf')
    const charset = d.get('charset')
    if (charset !== undefined && charset.toLowerCase() !== 'utf-8') throw new DigestError(`charset '${charset}' not supported`)
    const digestUri = need('digest-uri')
    if (!digestUri.toLowerCase().startsWith(`${this.opts.service.toLowerCase()}/`)) throw new DigestError("bad digest-uri: doesn't match service")
    const authzid = d.get('authzid')
    if (authzid !== undefined && authzid !== '' && authzid !== user) throw new DigestError('authorization identity differs from the user')
    const response = need('response').toLowerCase()
    const stored = this.opts.lookup(user, realm)
    if (!stored) throw new DigestError(`no DIGEST-MD5 key for '${user}' in realm '${realm}'`)
    const s: Session = {
      hA1: sessionKey(Buffer.from(stored, 'hex'), this.nonce, cnonce, authzid || undefined),
      nonce: this.nonce,
      cnonce,
      nc,
      qop,
      digestUri,
    }
    const expected = digestValue(s, 'AUTHENTICATE')
    if (response.length !== expected.length || !timingSafeEqual(Buffer.from(response), Buffer.from(expected)))
      throw new DigestError('DIGEST-MD5 response does not match (wrong password)')
    const ssf = qop === 'auth-conf' && cipher ? CIPHER_SSF[cipher] : qop === 'auth-int' ? 1 : 0
    return {out: `rspauth=${digestValue(s, '')}`, user, ssf, layer: layerFor(s, cipher, 'server', maxbuf)}
  }
}

export interface DigestClientOptions {
  service: string
  host: string
  user: string
  password: string
  /** The least SSF this side accepts (56 on plain TCP). */
  minSsf: number
  /** Forces a cipher (tests); else the strongest offered. */
  cipher?: Cipher
}

/** The client side: response(challenge), then verify(rspauth) which gives the layer. */
export class DigestClient {
  private session: Session | undefined
  private cipher: Cipher | undefined
  private maxbuf = 65536

  constructor(
    private readonly opts: DigestClientOptions,
    private readonly cnonce = randomBytes(32).toString('base64'),
  ) {}

  response(challenge: string): string {
    const d = parseDirectives(challenge)
    const nonce = d.get('nonce')
    if (!nonce) throw new DigestError('DIGEST-MD5 challenge lacks a nonce')
    if ((d.get('algorithm') ?? '').toLowerCase() !== 'md5-sess') throw new DigestError('DIGEST-MD5 challenge without algorithm=md5-sess')
    const realm = d.get('realm') ?? ''
    const qops = (d.get('qop') ?? 'auth').split(',').map((q) => q.trim())
    const offered = (d.get('cipher') ?? '').split(',').map((c) => c.trim().toLowerCase())
    this.maxbuf = Number(d.get('maxbuf') ?? 65536)
    let qop: Qop
    if (qops.includes('auth-conf')) {
      this.cipher = this.opts.cipher ?? CLIENT_CIPHERS.find((c) => offered.includes(c) && CIPHER_SSF[c] >= this.opts.minSsf)
      if (this.opts.cipher && !offered.includes(this.opts.cipher)) throw new DigestError(`cipher ${this.opts.cipher} not offered`)
    }
    if (this.cipher) qop = 'auth-conf'
    else if (qops.includes('auth-int') && this.opts.minSsf <= 1) qop = 'auth-int'
    else if (qops.includes('auth') && this.opts.minSsf === 0) qop = 'auth'
    else throw new DigestError('no quality of protection offered meets the minimum SSF')
    const digestUri = `${this.opts.service}/${this.opts.host}`
    const urp = md5(enc(this.opts.user), ':', enc(realm), ':', enc(this.opts.password))
    this.session = {hA1: sessionKey(urp, nonce, this.cnonce), nonce, cnonce: this.cnonce, nc: '00000001', qop, digestUri}
    const parts = [
      `username=${quote(this.opts.user)}`,
      ...(d.has('realm') ? [`realm=${quote(realm)}`] : []),
      `nonce=${quote(nonce)}`,
      `cnonce=${quote(this.cnonce)}`,
      'nc=00000001',
      `qop=${qop}`,
      ...(this.cipher ? [`cipher=${this.cipher}`] : []),
      `maxbuf=${DIGEST_MAXBUF}`,
      `digest-uri=${quote(digestUri)}`,
      `response=${digestValue(this.session, 'AUTHENTICATE')}`,
    ]
    return parts.join(',')
  }

  /** Checks rspauth (the server knows the password) and gives the security layer, if any. */
  verify(final: string): {ssf: number; layer?: SecurityLayer} {
    const s = this.session
    if (!s) throw new DigestError('DIGEST-MD5 exchange out of order')
    const rspauth = parseDirectives(final).get('rspauth') ?? ''
    if (rspauth !== digestValue(s, '')) throw new DigestError('the server failed to prove it knows the password')
    const ssf = this.cipher ? CIPHER_SSF[this.cipher] : s.qop === 'auth-int' ? 1 : 0
    return {ssf, layer: layerFor(s, this.cipher, 'client', this.maxbuf)}
  }
}
