/**
 * The checks libvirt 9.0 makes on a TLS client's certificate once the handshake is done
 * (virNetTLSContextValidCertificate on the server side), so that vctl accepts and refuses the same
 * certificates:
 *
 * - the chain must verify against the CA file, and the certificates must be within their validity;
 * - the DN (see tls-dn.ts) must match tls_allowed_dn_list when it is set;
 * - basicConstraints must not say CA;
 * - keyUsage, when present, must allow digitalSignature and keyEncipherment; a missing bit refuses
 *   the certificate only when the extension is critical (otherwise libvirt logs a warning);
 * - extendedKeyUsage, when present, must allow a TLS client: clientAuth, or any purpose other than
 *   serverAuth and anyExtendedKeyUsage (libvirt 9.0 counts any other purpose as allowing both ends);
 *   it refuses only when the extension is critical, and warns otherwise.
 *
 * OpenSSL (under node:tls) checks the "SSL client" purpose during verification, which is stricter
 * than libvirt (it refuses a non-critical serverAuth-only extendedKeyUsage); when that is all it
 * reports, the chain is verified here without the purpose check.
 */
import {X509Certificate} from 'node:crypto'
import type {DetailedPeerCertificate, TLSSocket} from 'node:tls'
import {children, decodeOid, expectTag, readTlv, tbsFields} from './der.js'
import {certificateDn, dnAllowed} from './tls-dn.js'

const OID_BASIC_CONSTRAINTS = '2.5.29.19'
const OID_KEY_USAGE = '2.5.29.15'
const OID_EXT_KEY_USAGE = '2.5.29.37'
const KP_SERVER = '1.3.6.1.5.5.7.3.1'
const KP_CLIENT = '1.3.6.1.5.5.7.3.2'
const KP_ANY = '2.5.29.37.0'

interface Extension {
  critical: boolean
  /** The content of extnValue (the extension's own DER). */
  value: Uint8Array
}

function extensions(cert: Uint8Array): Map<string, Extension> {
  const out = new Map<string, Extension>()
  const wrapper = tbsFields(cert).extensions
  if (!wrapper) return out
  const list = expectTag(children(cert, wrapper)[0], 0x30, 'Extensions')
  for (const ext of children(cert, list)) {
    const parts = children(cert, expectTag(ext, 0x30, 'Extension'))
    const oid = expectTag(parts[0], 0x06, 'extnID')
    const critical = parts[1]?.tag === 0x01 && cert[parts[1].contentStart] !== 0
    const value = expectTag(parts[parts.length - 1], 0x04, 'extnValue')
    out.set(decodeOid(cert.subarray(oid.contentStart, oid.end)), {critical, value: cert.subarray(value.contentStart, value.end)})
  }
  return out
}

function isCa(ext: Extension): boolean {
  const seq = expectTag(readTlv(ext.value, 0), 0x30, 'BasicConstraints')
  const first = children(ext.value, seq)[0]
  return first?.tag === 0x01 && ext.value[first.contentStart] !== 0
}

/** keyUsage bits as GnuTLS numbers them: digitalSignature 0x80, keyEncipherment 0x20 (first byte). */
function keyUsageFirstByte(ext: Extension): number {
  const bits = expectTag(readTlv(ext.value, 0), 0x03, 'KeyUsage')
  return bits.end - bits.contentStart > 1 ? ext.value[bits.contentStart + 1] : 0
}

function purposes(ext: Extension): string[] {
  const seq = expectTag(readTlv(ext.value, 0), 0x30, 'ExtKeyUsageSyntax')
  return children(ext.value, seq).map((o) => decodeOid(ext.value.subarray(expectTag(o, 0x06, 'KeyPurposeId').contentStart, o.end)))
}

export type PeerVerdict = {ok: true; dn: string; warnings: string[]} | {ok: false; reason: string}

/** libvirt's checks of a client certificate's DN, basic constraints, key usage and purpose. */
export function checkClientCertificate(raw: Uint8Array, allowedDn: readonly string[] | undefined): PeerVerdict {
  let dn: string
  let ext: Map<string, Extension>
  try {
    dn = certificateDn(raw)
    ext = extensions(raw)
  } catch (err) {
    return {ok: false, reason: `Failed to get certificate [session] distinguished name: ${(err as Error).message}`}
  }
  if (!dnAllowed(dn, allowedDn)) {
    return {ok: false, reason: `Client's Distinguished Name '${dn}' is not on the list of allowed clients (tls_allowed_dn_list)`}
  }
  const warnings: string[] = []
  try {
    const bc = ext.get(OID_BASIC_CONSTRAINTS)
    if (bc && isCa(bc)) return {ok: false, reason: 'The certificate [session] basic constraints show a CA, but we need one for a client'}
    const ku = ext.get(OID_KEY_USAGE)
    if (ku) {
      const usage = keyUsageFirstByte(ku)
      for (const [bit, what] of [
        [0x80, 'digital signature'],
        [0x20, 'key encipherment'],
      ] as const) {
        if (usage & bit) continue
        const msg = `Certificate [session] usage does not permit ${what}`
        if (ku.critical) return {ok: false, reason: msg}
        warnings.push(msg)
      }
    }
    const eku = ext.get(OID_EXT_KEY_USAGE)
    if (eku) {
      const allowClient = purposes(eku).some((p) => p === KP_CLIENT || (p !== KP_SERVER && p !== KP_ANY))
      if (!allowClient) {
        const msg = 'Certificate [session] purpose does not allow use for with a TLS client'
        if (eku.critical) return {ok: false, reason: msg}
        warnings.push(msg)
      }
    }
  } catch (err) {
    return {ok: false, reason: `Unable to query certificate [session] extensions: ${(err as Error).message}`}
  }
  return {ok: true, dn, warnings}
}

/** Splits a PEM bundle (or several) into certificates. */
export function parseCaBundle(pem: string | Buffer | (string | Buffer)[]): X509Certificate[] {
  const text = ([] as (string | Buffer)[]).concat(pem).map(String).join('\n')
  return (text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((b) => new X509Certificate(b))
}

function current(c: X509Certificate, now: number): boolean {
  return Date.parse(c.validFrom) <= now && now <= Date.parse(c.validTo)
}

function signedBy(child: X509Certificate, issuer: X509Certificate, now: number): boolean {
  return issuer.ca && current(issuer, now) && child.checkIssued(issuer) && child.verify(issuer.publicKey)
}

/**
 * Verifies a client's chain against the trusted CAs without any purpose check: each link must be
 * issued and signed by the next, every certificate current, every issuer a CA; the path may go
 * through intermediates the client sent. Used only when OpenSSL's sole objection is the purpose.
 */
export function verifyChainIgnoringPurpose(leaf: X509Certificate, sent: X509Certificate[], trusted: X509Certificate[], now = Date.now()): boolean {
  if (!current(leaf, now)) return false
  let cur = leaf
  for (let depth = 0; depth < 10; depth++) {
    if (trusted.some((ca) => signedBy(cur, ca, now))) return true
    const next = sent.find((i) => i.fingerprint256 !== cur.fingerprint256 && signedBy(cur, i, now))
    if (!next) return false
    cur = next
  }
  return false
}

/** The certificates a TLS peer sent after its leaf, from getPeerCertificate(true). */
function sentChain(peer: DetailedPeerCertificate): X509Certificate[] {
  const out: X509Certificate[] = []
  const seen = new Set<string>([peer.fingerprint256])
  for (let c = peer.issuerCertificate; c?.raw && !seen.has(c.fingerprint256); c = c.issuerCertificate) {
    seen.add(c.fingerprint256)
    out.push(new X509Certificate(c.raw))
  }
  return out
}

export interface PeerCheckOptions {
  /** Trusted CAs (the ca_file). */
  trusted: X509Certificate[]
  allowedDn?: readonly string[]
}

/**
 * The whole check of a TLS client, on a socket whose handshake completed with rejectUnauthorized
 * off: chain (node's verdict, or ours when the purpose is its only complaint), then libvirt's checks.
 */
export function checkTlsClient(socket: TLSSocket, opts: PeerCheckOptions): PeerVerdict {
  const peer = socket.getPeerCertificate(true)
  if (!peer.raw) return {ok: false, reason: 'Unable to verify TLS peer: the client sent no certificate'}
  if (!socket.authorized) {
    const err = String(socket.authorizationError)
    const leaf = new X509Certificate(peer.raw)
    if (err !== 'INVALID_PURPOSE' || !verifyChainIgnoringPurpose(leaf, sentChain(peer), opts.trusted)) {
      return {ok: false, reason: `Certificate failed validation: ${err}`}
    }
  }
  return checkClientCertificate(peer.raw, opts.allowedDn)
}
