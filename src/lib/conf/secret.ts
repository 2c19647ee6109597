/**
 * Secret XML <-> SecretDef.
 *
 * A secret document is small and fully modelled: the `ephemeral`/`private` attributes, `<uuid>`,
 * `<description>` and `<usage>`. As libvirt does, formatting writes only the modelled fields (the
 * parsed document is kept in `root` for callers that want to look at it, but nothing unmodelled is
 * carried into the output: the secret schema allows nothing else anyway).
 *
 * Errors are in the SECRET domain, with the codes libvirt uses for the same failures.
 */

import {ErrorCode, ErrorDomain, VirError, errors} from '../errors.js'
import {type XmlElement, attr, child, el, elementChildren, parseXml, rawTextOf, serializeXml, textEl} from './xml.js'
import {parseUuid} from '../uuid.js'
import {randomUUID} from 'node:crypto'

const S = ErrorDomain.SECRET

/** virSecretUsageType values. */
export const SecretUsageType = {none: 0, volume: 1, ceph: 2, iscsi: 3, tls: 4, vtpm: 5} as const

export type SecretUsageTypeName = keyof typeof SecretUsageType

const USAGE_NAMES: readonly SecretUsageTypeName[] = ['none', 'volume', 'ceph', 'iscsi', 'tls', 'vtpm']

/** The usage type's name for a virSecretUsageType number, or undefined when out of range. */
export function secretUsageTypeName(n: number): SecretUsageTypeName | undefined {
  return Number.isInteger(n) && n >= 0 && n < USAGE_NAMES.length ? USAGE_NAMES[n] : undefined
}

/** The virSecretUsageType number of a usage type name, or undefined when unknown. */
export function secretUsageTypeNumber(name: string): number | undefined {
  return Object.hasOwn(SecretUsageType, name) ? SecretUsageType[name as SecretUsageTypeName] : undefined
}

/** Which child of `<usage>` names what the secret is for (none has no such element). */
export const SECRET_USAGE_ID_ELEMENT: Readonly<Record<Exclude<SecretUsageTypeName, 'none'>, string>> = Object.freeze({
  volume: 'volume',
  ceph: 'name',
  iscsi: 'target',
  tls: 'name',
  vtpm: 'name',
})

/** What libvirt's messages call the usage id element when it is missing. */
const USAGE_MISSING: Readonly<Record<Exclude<SecretUsageTypeName, 'none'>, string>> = {
  volume: 'volume usage specified, but volume path is missing',
  ceph: 'Ceph usage specified, but name is missing',
  iscsi: 'iSCSI usage specified, but target is missing',
  tls: 'TLS usage specified, but name is missing',
  vtpm: 'vTPM usage specified, but name is missing',
}

export interface SecretUsage {
  type: SecretUsageTypeName
  /** Volume path (volume), name (ceph, tls, vtpm) or target (iscsi); '' for type none. */
  id: string
}

export interface SecretDef {
  ephemeral: boolean
  private: boolean
  uuid: string
  description?: string
  /** Absent when the document has no `<usage>` (usage type none). */
  usage?: SecretUsage
  root: XmlElement
}

/** The usage type number of a definition (none when it has no usage). */
export function secretUsageType(def: SecretDef): number {
  return SecretUsageType[def.usage?.type ?? 'none']
}

/** The usage id of a definition: '' when it has none (what libvirt puts on the wire then). */
export function secretUsageId(def: SecretDef): string {
  return def.usage?.type === 'none' ? '' : (def.usage?.id ?? '')
}

function yesNoAttr(root: XmlElement, name: 'ephemeral' | 'private'): boolean {
  const v = attr(root, name)
  if (v === undefined) return false
  if (v === 'yes') return true
  if (v === 'no') return false
  throw errors.xmlError(S, `invalid value of '${name}'`)
}

/** Parses secret XML; errors are in the SECRET domain (docName default 'definition_of_secret'). */
export function parseSecretXml(xml: string, opts: {docName?: string} = {}): SecretDef {
  return secretFromXml(parseXml(xml, opts.docName ?? 'definition_of_secret', S))
}

export function secretFromXml(root: XmlElement): SecretDef {
  if (root.name !== 'secret') throw errors.xmlError(S, `unexpected root element <${root.name}>, expecting <secret>`)
  const ephemeral = yesNoAttr(root, 'ephemeral')
  const isPrivate = yesNoAttr(root, 'private')

  let uuid: string
  const uuidText = rawTextOf(child(root, 'uuid'))
  if (uuidText.length === 0) {
    uuid = randomUUID()
  } else {
    const parsed = parseUuid(uuidText)
    if (parsed === undefined) throw errors.internal(S, 'malformed uuid element')
    uuid = parsed
  }

  const descText = rawTextOf(child(root, 'description'))
  const description = descText.length > 0 ? descText : undefined

  let usage: SecretUsage | undefined
  const u = child(root, 'usage')
  if (u !== undefined) {
    const typeText = attr(u, 'type')
    if (typeText === undefined || typeText.length === 0) throw errors.xmlError(S, 'unknown secret usage type')
    if (!Object.hasOwn(SecretUsageType, typeText)) {
      throw errors.configUnsupported(S, `unknown secret usage type ${typeText}`)
    }
    const type = typeText as SecretUsageTypeName
    if (type === 'none') {
      usage = {type, id: ''}
    } else {
      const id = rawTextOf(child(u, SECRET_USAGE_ID_ELEMENT[type]))
      if (id.length === 0) throw errors.internal(S, USAGE_MISSING[type])
      usage = {type, id}
    }
  }

  return {ephemeral, private: isPrivate, uuid, description, usage, root}
}

/** Builds the `<secret>` element from the typed fields (root is not consulted). */
export function secretToXml(def: SecretDef): XmlElement {
  const children: XmlElement[] = [textEl('uuid', def.uuid)]
  if (def.description !== undefined) children.push(textEl('description', def.description))
  const usage = def.usage
  if (usage !== undefined && usage.type !== 'none') {
    children.push(el('usage', {type: usage.type}, [textEl(SECRET_USAGE_ID_ELEMENT[usage.type], usage.id)]))
  }
  return el('secret', {ephemeral: def.ephemeral, private: def.private}, children)
}

/** Produces secret XML the way libvirt lays it out. */
export function formatSecretXml(def: SecretDef): string {
  return serializeXml(secretToXml(def))
}

// ---------------------------------------------------------------------------------------------
// Schema check (what VIR_SECRET_DEFINE_VALIDATE asks for)
// ---------------------------------------------------------------------------------------------

const SCHEMA_FILE = '/usr/share/libvirt/schemas/secret.rng'
const UUID_RE = /^([a-fA-F0-9]{32}|[a-fA-F0-9]{8}-[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-[a-fA-F0-9]{12})$/
/** basictypes.rng's objectName and absFilePath (RELAX NG patterns match the whole value). */
const OBJECT_NAME_RE = /^[^/\n]+$/
const ABS_PATH_RE = /^(\/|[a-zA-Z]:\\).+$/

function schemaError(detail: string): VirError {
  const msg = `Unable to validate doc against ${SCHEMA_FILE}\n${detail}`
  return new VirError(ErrorCode.XML_INVALID_SCHEMA, S, `XML document failed to validate against schema: ${msg}`, {
    str1: 'XML document failed to validate against schema: %s',
    str2: msg,
  })
}

function onlyText(e: XmlElement): boolean {
  return e.children.every((c) => c.kind !== 'element')
}

/**
 * Checks a parsed document against the secret schema's rules (attributes, allowed and repeated
 * children, usage shapes, UUID and path syntax). Throws XML_INVALID_SCHEMA.
 */
export function validateSecretSchema(root: XmlElement): void {
  if (root.name !== 'secret') throw schemaError(`Expecting element secret, got ${root.name}`)
  for (const [k, v] of root.attrs) {
    if (k === 'ephemeral' || k === 'private') {
      if (v !== 'yes' && v !== 'no') throw schemaError(`Element secret failed to validate attributes`)
    } else {
      throw schemaError(`Invalid attribute ${k} for element secret`)
    }
  }
  const seen = new Set<string>()
  for (const c of elementChildren(root)) {
    if (c.name !== 'uuid' && c.name !== 'description' && c.name !== 'usage') {
      throw schemaError(`Element secret has extra content: ${c.name}`)
    }
    if (seen.has(c.name)) throw schemaError(`Element secret has extra content: ${c.name}`)
    seen.add(c.name)
    if (c.name === 'uuid') {
      if (!onlyText(c) || !UUID_RE.test(rawTextOf(c))) throw schemaError('Element uuid failed to validate content')
    } else if (c.name === 'description') {
      if (!onlyText(c)) throw schemaError('Element description has extra content')
    } else {
      const type = attr(c, 'type')
      if (c.attrs.length !== 1 || type === undefined || type === 'none' || !Object.hasOwn(SECRET_USAGE_ID_ELEMENT, type)) {
        throw schemaError('Element usage failed to validate attributes')
      }
      const want = SECRET_USAGE_ID_ELEMENT[type as Exclude<SecretUsageTypeName, 'none'>]
      const kids = elementChildren(c)
      if (kids.length !== 1 || kids[0].name !== want || kids[0].attrs.length !== 0 || !onlyText(kids[0])) {
        throw schemaError(`Element usage failed to validate content`)
      }
      const id = rawTextOf(kids[0])
      const ok = (type === 'volume' ? ABS_PATH_RE : OBJECT_NAME_RE).test(id)
      if (!ok) throw schemaError(`Element ${want} failed to validate content`)
    }
  }
}
