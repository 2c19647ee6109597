/** A minimal DER reader: enough of X.509 to read a certificate's subject and extensions. */

/** One DER element: tag, and where its header and content lie in the buffer. */
export interface Tlv {
  tag: number
  start: number
  contentStart: number
  end: number
}

export class DerError extends Error {}

export function readTlv(buf: Uint8Array, off: number, limit = buf.length): Tlv {
  if (off + 2 > limit) throw new DerError('truncated DER element')
  const tag = buf[off]
  if ((tag & 0x1f) === 0x1f) throw new DerError('multi-byte DER tags are not supported')
  let len = buf[off + 1]
  let p = off + 2
  if (len & 0x80) {
    const n = len & 0x7f
    if (n === 0 || n > 4) throw new DerError('unsupported DER length')
    if (p + n > limit) throw new DerError('truncated DER length')
    len = 0
    for (let i = 0; i < n; i++) len = len * 256 + buf[p + i]
    p += n
  }
  if (p + len > limit) throw new DerError('DER element overruns its container')
  return {tag, start: off, contentStart: p, end: p + len}
}

/** The elements directly inside a constructed element. */
export function children(buf: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = []
  for (let p = parent.contentStart; p < parent.end;) {
    const t = readTlv(buf, p, parent.end)
    out.push(t)
    p = t.end
  }
  return out
}

export function expectTag(t: Tlv | undefined, tag: number, what: string): Tlv {
  if (!t || t.tag !== tag) throw new DerError(`malformed certificate: expected ${what}`)
  return t
}

export function decodeOid(bytes: Uint8Array): string {
  if (bytes.length === 0) throw new DerError('empty OID')
  const arcs: number[] = []
  let v = 0
  for (const b of bytes) {
    v = v * 128 + (b & 0x7f)
    if (!(b & 0x80)) {
      arcs.push(v)
      v = 0
    }
  }
  if (bytes[bytes.length - 1] & 0x80) throw new DerError('truncated OID')
  const first = arcs[0]
  const head = first < 40 ? [0, first] : first < 80 ? [1, first - 40] : [2, first - 80]
  return [...head, ...arcs.slice(1)].join('.')
}

/** The fields of a certificate's TBSCertificate, without the optional [0] version. */
export function tbsFields(cert: Uint8Array): {fields: Tlv[]; extensions: Tlv | undefined} {
  const top = expectTag(readTlv(cert, 0), 0x30, 'Certificate')
  const tbs = expectTag(children(cert, top)[0], 0x30, 'TBSCertificate')
  const all = children(cert, tbs)
  const fields = all[0]?.tag === 0xa0 ? all.slice(1) : all
  // serial, signature, issuer, validity, subject, subjectPublicKeyInfo, then optional [1] [2] [3].
  if (fields.length < 6) throw new DerError('malformed certificate: TBSCertificate too short')
  return {fields, extensions: fields.find((f) => f.tag === 0xa3)}
}
