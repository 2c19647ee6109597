/**
 * SCRAM (RFC 5802, RFC 7677) as cyrus-sasl's scram plug-in speaks it, both sides: SCRAM-SHA-256 and
 * SCRAM-SHA-1, no channel binding (gs2 header "n" or "y"), an optional authzid that must equal the
 * authentication identity. SCRAM has no security layer (SSF 0). Stored keys are derived once per
 * password (see userdb.ts); the server never sees or keeps the password itself.
 */
import {createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual} from 'node:crypto'

export type ScramHash = 'sha256' | 'sha1'

export const SCRAM_MECHS: Record<string, ScramHash> = {'SCRAM-SHA-256': 'sha256', 'SCRAM-SHA-1': 'sha1'}

/** What the server keeps for one user and mechanism. */
export interface ScramSecret {
  salt: string // base64
  iterations: number
  storedKey: string // base64
  serverKey: string // base64
}

export class ScramError extends Error {}

const hmac = (h: ScramHash, key: Buffer, data: string | Buffer): Buffer => createHmac(h, key).update(data).digest()
const digest = (h: ScramHash, data: Buffer): Buffer => createHash(h).update(data).digest()
const xor = (a: Buffer, b: Buffer): Buffer => Buffer.from(a.map((x, i) => x ^ b[i]))
const keyLen = (h: ScramHash): number => (h === 'sha256' ? 32 : 20)

function saltedPassword(h: ScramHash, password: string, salt: Buffer, iterations: number): Buffer {
  return pbkdf2Sync(Buffer.from(password.normalize('NFKC'), 'utf8'), salt, iterations, keyLen(h), h)
}

/** The stored keys of a password (what `vctl sasl passwd` writes). */
export function scramSecret(h: ScramHash, password: string, iterations = 4096, salt = randomBytes(16)): ScramSecret {
  const salted = saltedPassword(h, password, salt, iterations)
  return {
    salt: salt.toString('base64'),
    iterations,
    storedKey: digest(h, hmac(h, salted, 'Client Key')).toString('base64'),
    serverKey: hmac(h, salted, 'Server Key').toString('base64'),
  }
}

/** RFC 5802 saslname: "=" and "," escaped. */
const decodeName = (s: string): string => {
  if (/=(?!2C|3D)/.test(s)) throw new ScramError('invalid username encoding')
  return s.replace(/=2C/g, ',').replace(/=3D/g, '=')
}
const encodeName = (s: string): string => s.replace(/=/g, '=3D').replace(/,/g, '=2C')

/** Parses "k=v,k=v" attributes (values may contain "="). */
function attrs(msg: string): Map<string, string> {
  const m = new Map<string, string>()
  for (const part of msg.split(',')) {
    if (!/^[a-zA-Z]=/.test(part)) throw new ScramError(`malformed SCRAM attribute '${part.slice(0, 20)}'`)
    m.set(part[0], part.slice(2))
  }
  return m
}

const PRINTABLE = /^[\x21-\x2b\x2d-\x7e]+$/

export interface ScramServerStep {
  /** The server's message to send back. */
  out: string
  /** Set once the client is authenticated. */
  user?: string
}

/**
 * The server side of one exchange. `lookup` returns the user's secret, or undefined for an unknown
 * user (the exchange then goes on with a made-up salt and fails at the proof, as cyrus does, so
 * that unknown and known users look alike to the client).
 */
export class ScramServer {
  private state: 'first' | 'final' | 'done' = 'first'
  private user = ''
  private secret: ScramSecret | undefined
  private authMessageStart = ''
  private nonce = ''
  private gs2 = ''

  constructor(
    private readonly hash: ScramHash,
    private readonly lookup: (user: string) => ScramSecret | undefined,
  ) {}

  step(input: Buffer): ScramServerStep {
    const msg = input.toString('utf8')
    if (this.state === 'first') return this.first(msg)
    if (this.state === 'final') return this.final(msg)
    throw new ScramError('SCRAM exchange already complete')
  }

  private first(msg: string): ScramServerStep {
    // gs2-header: cbind-flag "," [authzid] ","
    const m = /^([ny]),(a=[^,]*)?,(.*)$/s.exec(msg)
    if (!m) throw new ScramError('SCRAM client-first message expected (channel binding is not supported)')
    const [, flag, authz, bare] = m
    const a = attrs(bare)
    const name = a.get('n')
    const cnonce = a.get('r')
    if (!name || !cnonce || !PRINTABLE.test(cnonce)) throw new ScramError('SCRAM client-first message lacks a username or nonce')
    this.user = decodeName(name)
    if (authz && authz.length > 2 && decodeName(authz.slice(2)) !== this.user) throw new ScramError('authorization identity differs from the user')
    this.gs2 = `${flag},${authz ?? ''},`
    this.secret = this.lookup(this.user)
    const secret = this.secret ?? scramSecret(this.hash, randomBytes(16).toString('hex'), 4096)
    this.nonce = cnonce + randomBytes(18).toString('base64').replace(/[=,]/g, '')
    const out = `r=${this.nonce},s=${secret.salt},i=${secret.iterations}`
    this.authMessageStart = `${bare},${out}`
    this.state = 'final'
    return {out}
  }

  private final(msg: string): ScramServerStep {
    this.state = 'done'
    const p = msg.lastIndexOf(',p=')
    if (p < 0) throw new ScramError('SCRAM client-final message lacks a proof')
    const withoutProof = msg.slice(0, p)
    const a = attrs(withoutProof)
    if (a.get('r') !== this.nonce) throw new ScramError('SCRAM nonce mismatch')
    if (a.get('c') !== Buffer.from(this.gs2).toString('base64')) throw new ScramError('SCRAM channel binding mismatch')
    const proof = Buffer.from(msg.slice(p + 3), 'base64')
    const secret = this.secret
    if (!secret) throw new ScramError('authentication failed')
    const authMessage = `${this.authMessageStart},${withoutProof}`
    const storedKey = Buffer.from(secret.storedKey, 'base64')
    const signature = hmac(this.hash, storedKey, authMessage)
    if (proof.length !== signature.length) throw new ScramError('authentication failed')
    const clientKey = xor(proof, signature)
    if (!timingSafeEqual(digest(this.hash, clientKey), storedKey)) throw new ScramError('authentication failed')
    const serverSig = hmac(this.hash, Buffer.from(secret.serverKey, 'base64'), authMessage)
    return {out: `v=${serverSig.toString('base64')}`, user: this.user}
  }
}

/** The client side of one exchange (vctl's client, and the tests). */
export class ScramClient {
  private bare = ''
  private serverSig: Buffer | undefined

  constructor(
    private readonly hash: ScramHash,
    private readonly user: string,
    private readonly password: string,
    /** The client nonce (random unless given, for test vectors). */
    private readonly cnonce = randomBytes(18).toString('base64').replace(/[=,]/g, ''),
  ) {}

  first(): string {
    this.bare = `n=${encodeName(this.user)},r=${this.cnonce}`
    return `n,,${this.bare}`
  }

  final(serverFirst: string): string {
    const a = attrs(serverFirst)
    const nonce = a.get('r')
    const salt = a.get('s')
    const iterations = Number(a.get('i'))
    if (!nonce?.startsWith(this.cnonce) || !salt || !Number.isInteger(iterations) || iterations < 1)
      throw new ScramError('bad SCRAM server-first message')
    const withoutProof = `c=${Buffer.from('n,,').toString('base64')},r=${nonce}`
    const authMessage = `${this.bare},${serverFirst},${withoutProof}`
    const salted = saltedPassword(this.hash, this.password, Buffer.from(salt, 'base64'), iterations)
    const clientKey = hmac(this.hash, salted, 'Client Key')
    const signature = hmac(this.hash, digest(this.hash, clientKey), authMessage)
    this.serverSig = hmac(this.hash, hmac(this.hash, salted, 'Server Key'), authMessage)
    return `${withoutProof},p=${xor(clientKey, signature).toString('base64')}`
  }

  /** Checks the server's signature (mutual authentication). */
  verify(serverFinal: string): void {
    const v = attrs(serverFinal).get('v')
    if (!v || !this.serverSig || !timingSafeEqual(Buffer.from(v, 'base64'), this.serverSig))
      throw new ScramError('the server failed to prove it knows the password')
  }
}
