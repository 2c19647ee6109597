/**
 * A certificate's subject as libvirt sees it for tls_allowed_dn_list, and the pattern match.
 *
 * libvirt takes the peer's DN from GnuTLS's gnutls_x509_crt_get_dn(): the RDNs in the order the
 * certificate's DER lists them (not reversed, unlike strict RFC 4514), the attributes of a
 * multi-valued RDN joined by '+' in their DER (SET) order, values escaped as RFC 4514 asks
 * (`,+"\<>;` always, '#' and space at the start, space at the end), names from GnuTLS's table
 * (CN, O, OU, C, ST, L, EMAIL, DC, UID, ...), unknown attributes or undecodable values as '#' and
 * the hex of their DER. Each pattern is matched against that string with glib's
 * g_pattern_match_simple(): '*' any run of characters, '?' one character, everything else literal
 * (no brackets, no backslash escapes).
 *
 * Node's own X509Certificate / getPeerCertificate().subject lose the order, the RDN grouping and
 * the escaping, so the subject is read from the certificate's DER here.
 */
import {children, decodeOid, DerError, expectTag, readTlv, tbsFields} from './der.js'

/** The certificate's subject cannot be rendered (GnuTLS fails on it too). */
export class DnError extends Error {}

/** One attribute of an RDN: its OID and its value's complete DER (tag, length, content). */
export interface Ava {
  oid: string
  value: Uint8Array
}

/** Parses an X.501 Name (the DER of the SEQUENCE OF RDN) into RDNs in DER order. */
export function parseName(der: Uint8Array): Ava[][] {
  const name = expectTag(readTlv(der, 0), 0x30, 'Name')
  return children(der, name).map((set) => {
    expectTag(set, 0x31, 'RelativeDistinguishedName')
    return children(der, set).map((seq) => {
      const [oid, value] = children(der, expectTag(seq, 0x30, 'AttributeTypeAndValue'))
      expectTag(oid, 0x06, 'attribute type')
      if (!value) throw new DerError('malformed certificate: attribute without value')
      return {oid: decodeOid(der.subarray(oid.contentStart, oid.end)), value: der.subarray(value.start, value.end)}
    })
  })
}

/** The subject Name's DER inside a certificate's DER. */
export function certificateSubjectDer(cert: Uint8Array): Uint8Array {
  const subject = expectTag(tbsFields(cert).fields[4], 0x30, 'subject')
  return cert.subarray(subject.start, subject.end)
}

// ASN.1 string tags.
const UTF8 = 0x0c
const NUMERIC = 0x12
const PRINTABLE = 0x13
const TELETEX = 0x14
const IA5 = 0x16
const UNIVERSAL = 0x1c
const BMP = 0x1e

/** How GnuTLS knows an attribute: its short name (absent: printed as the OID) and the string types it decodes. */
interface OidEntry {
  name?: string
  /** Accepted tags: a DirectoryString-like CHOICE, or a single type. */
  tags: readonly number[]
}

const DIRECTORY = [TELETEX, PRINTABLE, UNIVERSAL, UTF8, BMP] as const
const dir = (name: string): OidEntry => ({name, tags: DIRECTORY})
const one = (name: string | undefined, tag: number): OidEntry => ({name, tags: [tag]})

/** GnuTLS 3.7's table of printable DN attributes (lib/x509/common.c). */
const OIDS: Readonly<Record<string, OidEntry>> = {
  '1.3.6.1.5.5.7.9.2': dir('placeOfBirth'),
  '1.3.6.1.5.5.7.9.3': one('gender', PRINTABLE),
  '1.3.6.1.5.5.7.9.4': one('countryOfCitizenship', PRINTABLE),
  '1.3.6.1.5.5.7.9.5': one('countryOfResidence', PRINTABLE),
  '2.5.4.6': one('C', PRINTABLE),
  '2.5.4.9': dir('street'),
  '2.5.4.12': dir('title'),
  '2.5.4.10': dir('O'),
  '2.5.4.11': dir('OU'),
  '2.5.4.3': dir('CN'),
  '2.5.4.7': dir('L'),
  '2.5.4.8': dir('ST'),
  '2.5.4.13': dir('description'),
  '2.5.4.5': one('serialNumber', PRINTABLE),
  '2.5.4.20': one('telephoneNumber', PRINTABLE),
  '2.5.4.4': dir('surName'),
  '2.5.4.43': dir('initials'),
  '2.5.4.44': dir('generationQualifier'),
  '2.5.4.42': dir('givenName'),
  '2.5.4.65': dir('pseudonym'),
  '2.5.4.46': one('dnQualifier', PRINTABLE),
  '2.5.4.17': dir('postalCode'),
  '2.5.4.41': dir('name'),
  '2.5.4.15': dir('businessCategory'),
  '0.9.2342.19200300.100.1.25': one('DC', IA5),
  '0.9.2342.19200300.100.1.1': dir('UID'),
  '1.2.840.113556.1.4.656': dir('userPrincipalName'),
  '1.3.6.1.4.1.311.60.2.1.1': dir('jurisdictionOfIncorporationLocalityName'),
  '1.3.6.1.4.1.311.60.2.1.2': dir('jurisdictionOfIncorporationStateOrProvinceName'),
  '1.3.6.1.4.1.311.60.2.1.3': one('jurisdictionOfIncorporationCountryName', PRINTABLE),
  '1.2.840.113549.1.9.1': one('EMAIL', IA5),
  '1.2.840.113549.1.9.7': {tags: [PRINTABLE, UTF8]},
  '1.2.840.113549.1.9.20': one(undefined, BMP),
  '1.3.6.1.5.5.7.8.5': one('XmppAddr', UTF8),
  '1.2.643.100.1': one('OGRN', NUMERIC),
  '1.2.643.100.3': one('SNILS', NUMERIC),
  '1.2.643.100.5': one('OGRNIP', NUMERIC),
  '1.2.643.3.131.1.1': one('INN', NUMERIC),
}

function hex(bytes: Uint8Array): string {
  return '#' + Buffer.from(bytes).toString('hex')
}

/** UCS-2 (big endian) to UTF-8 bytes (a trailing odd byte is dropped); undefined when it is not valid UTF-16. */
function bmpToUtf8(b: Uint8Array): Uint8Array | undefined {
  const units: number[] = []
  for (let i = 0; i + 1 < b.length; i += 2) units.push((b[i] << 8) | b[i + 1])
  // A lone surrogate has no UTF-8 form.
  for (let i = 0; i < units.length; i++) {
    const u = units[i]
    if (u >= 0xd800 && u <= 0xdbff && units[i + 1] >= 0xdc00 && units[i + 1] <= 0xdfff) i++
    else if (u >= 0xd800 && u <= 0xdfff) return undefined
  }
  return Buffer.from(String.fromCharCode(...units), 'utf8')
}

function isPrintableAscii(b: Uint8Array): boolean {
  return b.every((c) => c >= 0x20 && c <= 0x7e)
}

const ALWAYS_ESCAPED = new Set(Array.from(',+"\\<>;').map((c) => c.charCodeAt(0)))

/** RFC 4514 escaping exactly as GnuTLS applies it, on bytes. */
function escapeValue(b: Uint8Array): Uint8Array {
  const out: number[] = []
  const space = 0x20
  b.forEach((c, i) => {
    if (ALWAYS_ESCAPED.has(c) || (i === 0 && (c === 0x23 || c === space)) || (i === b.length - 1 && c === space)) out.push(0x5c)
    out.push(c)
  })
  return Uint8Array.from(out)
}

/** The text of one attribute value, as GnuTLS prints it (bytes, then read as UTF-8). */
function valueText(ava: Ava): string {
  const entry = OIDS[ava.oid]
  const tlv = readTlv(ava.value, 0)
  if (!entry || !entry.tags.includes(tlv.tag) || tlv.end !== ava.value.length) return hex(ava.value)
  const content = ava.value.subarray(tlv.contentStart, tlv.end)
  if (content.length === 0) {
    // GnuTLS cannot decode an empty single-type string (printed as hex) and fails on an empty DirectoryString.
    if (entry.tags.length === 1) return hex(ava.value)
    throw new DnError(`empty ${entry.name ?? ava.oid} in the certificate's distinguished name`)
  }
  let text: Uint8Array
  if (tlv.tag === BMP) text = bmpToUtf8(content) ?? Buffer.from(hex(content))
  else if (tlv.tag === TELETEX) text = isPrintableAscii(content) ? content : Buffer.from(hex(content))
  else if (tlv.tag === UNIVERSAL) text = Buffer.from(hex(content))
  else text = content
  // A value with an embedded NUL is printed as the hex of its DER, unescaped.
  if (text.includes(0)) return hex(ava.value)
  return Buffer.from(escapeValue(text)).toString('utf8')
}

/**
 * Renders parsed RDNs the way gnutls_x509_crt_get_dn() does: after each attribute a '+' when its
 * RDN has more, else a ',' unless its RDN is the last one (so an empty RDN adds nothing of its own).
 * Throws DnError where GnuTLS fails (no attributes at all, an empty DirectoryString), which makes
 * libvirt refuse the certificate.
 */
export function renderDn(rdns: Ava[][]): string {
  let out = ''
  rdns.forEach((rdn, i) => {
    rdn.forEach((ava, j) => {
      out += `${OIDS[ava.oid]?.name ?? ava.oid}=${valueText(ava)}`
      if (j < rdn.length - 1) out += '+'
      else if (i < rdns.length - 1) out += ','
    })
  })
  if (out === '') throw new DnError('the certificate has no distinguished name')
  return out
}

/** The DN libvirt matches tls_allowed_dn_list against, from a certificate's DER. */
export function certificateDn(cert: Uint8Array): string {
  return renderDn(parseName(certificateSubjectDer(cert)))
}

/** glib's g_pattern_match_simple(): '*' matches any run of characters, '?' exactly one. */
export function globMatch(pattern: string, text: string): boolean {
  const p = Array.from(pattern)
  const t = Array.from(text)
  let pi = 0
  let ti = 0
  let starP = -1
  let starT = 0
  while (ti < t.length) {
    if (pi < p.length && (p[pi] === '?' || (p[pi] !== '*' && p[pi] === t[ti]))) {
      pi++
      ti++
    } else if (pi < p.length && p[pi] === '*') {
      starP = pi++
      starT = ti
    } else if (starP >= 0) {
      pi = starP + 1
      ti = ++starT
    } else return false
  }
  while (pi < p.length && p[pi] === '*') pi++
  return pi === p.length
}

/** Whether a DN matches one of the patterns; no list means every DN is allowed. */
export function dnAllowed(dn: string, patterns: readonly string[] | undefined): boolean {
  if (patterns === undefined) return true
  return patterns.some((p) => globMatch(p, dn))
}
