/**
 * Value parsing shared by the domain, network and pool parsers: UUIDs, libvirt's scaled integers,
 * integer attributes, and the root/name/uuid checks every definition starts with.
 */

import {randomUUID} from 'node:crypto'

import {ErrorCode, VirError, errors} from '../errors.js'
import {parseUuid} from '../uuid.js'
import {type XmlElement, attr, child, textOf} from './xml.js'

export {parseUuid}

/** Bytes per unit for libvirt's scaled integers; undefined for an unknown suffix. */
export function unitScale(unit: string): bigint | undefined {
  const u = unit.toLowerCase()
  if (u === 'b' || u === 'byte' || u === 'bytes') return 1n
  let base: bigint
  if (u.length === 1 || u.slice(1) === 'ib') base = 1024n
  else if (u.length === 2 && u[1] === 'b') base = 1000n
  else return undefined
  const power = 'kmgtpe'.indexOf(u[0])
  if (power < 0) return undefined
  return base ** BigInt(power + 1)
}

/**
 * Reads `<elem unit='...'>N</elem>` as a number of bytes (as a bigint). `defaultUnit` applies when
 * there is no unit attribute. Errors are libvirt's: XML_ERROR for a non-integer value,
 * INVALID_ARG "unknown suffix" for a bad unit.
 */
export function parseScaledBytes(e: XmlElement, xpath: string, defaultUnit: string, errDomain: number): bigint {
  const text = textOf(e)
  if (!/^[0-9]+$/.test(text)) {
    throw errors.xmlError(errDomain, `Invalid value '${text}' for element or attribute '${xpath}'`)
  }
  const unit = attr(e, 'unit') ?? defaultUnit
  const scale = unitScale(unit)
  if (scale === undefined) throw errors.invalidArg(errDomain, `unknown suffix '${unit}'`)
  return BigInt(text) * scale
}

/** Like parseScaledBytes, converted to a JS number of `unit`s (rounded up); errors when unsafe. */
export function parseScaled(e: XmlElement, xpath: string, defaultUnit: string, resultUnit: string, errDomain: number): number {
  const bytes = parseScaledBytes(e, xpath, defaultUnit, errDomain)
  const scale = unitScale(resultUnit) as bigint
  const v = (bytes + scale - 1n) / scale
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw errors.xmlError(errDomain, `value of '${xpath}' is too large`)
  }
  return Number(v)
}

export function parseUIntStrict(text: string): number | undefined {
  const t = text.trim()
  if (!/^[0-9]+$/.test(t)) return undefined
  const n = Number(t)
  return Number.isSafeInteger(n) ? n : undefined
}

export function parseIntStrict(text: string): number | undefined {
  const t = text.trim()
  if (!/^[-+]?[0-9]+$/.test(t)) return undefined
  const n = Number(t)
  return Number.isSafeInteger(n) ? n : undefined
}

export function invalidAttr(errDomain: number, name: string, element: string, value: string, extra = ''): VirError {
  return errors.xmlError(errDomain, `Invalid value for attribute '${name}' in element '${element}': '${value}'.${extra}`)
}

/** Optional integer attribute, with libvirt's "Invalid value for attribute" error when malformed. */
export function intAttr(e: XmlElement | undefined, name: string, errDomain: number, unsigned = true): number | undefined {
  const v = attr(e, name)
  if (v === undefined || e === undefined) return undefined
  const n = unsigned ? parseUIntStrict(v) : parseIntStrict(v)
  if (n === undefined) {
    throw invalidAttr(errDomain, name, e.name, v, unsigned ? ' Expected non-negative integer value' : ' Expected integer value')
  }
  return n
}

/** Checks the document's root element name, as libvirt does before looking inside. */
export function expectRoot(root: XmlElement, expected: string, errDomain: number): void {
  if (root.name !== expected) {
    throw errors.xmlError(errDomain, `expecting root element of '${expected}', not '${root.name}'`)
  }
}

/** The name from `<name>`, with libvirt's "missing name information" error when absent/empty. */
export function requireName(root: XmlElement, errDomain: number): string {
  const name = textOf(child(root, 'name'))
  if (name.length === 0) throw new VirError(ErrorCode.NO_NAME, errDomain, 'missing name information')
  return name
}

/** The `<uuid>` value (canonical), or a fresh random one when absent. */
export function uuidOrNew(root: XmlElement, errDomain: number): string {
  const u = child(root, 'uuid')
  const text = textOf(u)
  if (u === undefined || text.length === 0) return randomUUID()
  const uuid = parseUuid(text)
  if (uuid === undefined) throw errors.internal(errDomain, 'malformed uuid element')
  return uuid
}
