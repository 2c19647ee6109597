/**
 * Save/restore and managed save of the test driver, as libvirt's test driver has them: a save file
 * is its own small format ("TestGuestMagic" with its NUL, the XML's length as a host-order 32-bit
 * int, the live XML), a managed save is only a flag on the domain (cleared by the next start),
 * and managed save XML is not supported.
 */
import * as fs from 'node:fs'
import {ErrorCode, ErrorDomain, VirError, errors} from '../../errors.js'
import {formatDomainXml, parseDomainXml, type DomainDef} from '../../conf/domain.js'
import {isActive, type DomainObj} from '../../conf/domain-list.js'
import {SaveDetail, SaveFlags, SaveImageXmlFlags, type SaveDriver} from '../save-types.js'
import {LifecycleEvent, RunningReason, ShutoffReason} from '../types.js'

const D = ErrorDomain.TEST
const MAGIC = Buffer.from('TestGuestMagic\0', 'latin1')

/** What save/restore need of the test driver's domains (its private bookkeeping, handed over). */
export interface TestSaveOps<T extends DomainObj> {
  get(uuid: string): T
  /** Parses and checks domain XML as the test driver does. */
  parse(xml: string): DomainDef
  /** The domain a restored definition goes into (libvirt's ADD_LIVE | CHECK_LIVE). */
  addLive(def: DomainDef): T
  start(d: T, def: DomainDef, reason: number): void
  stop(d: T, reason: number, detail: number): void
  emit(d: T, event: number, detail: number): void
}

function checkFlags(flags: number, known: number, fn: string): void {
  if (flags & ~known) {
    const msg = `unsupported flags (0x${(flags & ~known).toString(16)}) in function ${fn}`
    throw new VirError(ErrorCode.INVALID_ARG, D, msg, {str1: '%s', str2: msg})
  }
}

function noXmlChange(dxml: string | null): void {
  if (dxml !== null) {
    throw new VirError(ErrorCode.ARGUMENT_UNSUPPORTED, D, 'argument unsupported: xml modification unsupported', {
      str1: 'argument unsupported: %s',
      str2: 'xml modification unsupported',
    })
  }
}

/** libvirt's virReportSystemError: the message, then the error text of errno (0: "Success"). */
function sysErr(detail: string, err?: unknown): VirError {
  const e = err as NodeJS.ErrnoException | undefined
  const text = !e ? 'Success' : e.code === 'ENOENT' ? 'No such file or directory' : e.code === 'EACCES' ? 'Permission denied' : e.message
  return errors.systemError(D, `${detail}: ${text}`)
}

function unsupported(fn: string): VirError {
  return new VirError(ErrorCode.NO_SUPPORT, ErrorDomain.DOMAIN, `this function is not supported by the connection driver: ${fn}`, {
    str1: 'this function is not supported by the connection driver: %s',
    str2: fn,
  })
}

export class TestSaves<T extends DomainObj> implements SaveDriver {
  private readonly managed = new WeakSet<T>()

  constructor(private readonly ops: TestSaveOps<T>) {}

  has(d: T): boolean {
    return this.managed.has(d)
  }

  /** A start (or undefine with MANAGED_SAVE) drops the managed save flag. */
  clear(d: T): void {
    this.managed.delete(d)
  }

  hasManagedSave(uuid: string): boolean {
    return this.managed.has(this.ops.get(uuid))
  }

  /** Undefine: refused while the domain has a managed save, unless the flags say to drop it. */
  checkUndefine(d: T, flags: number): void {
    if (!this.managed.has(d)) return
    if (!(flags & 1 /* UNDEFINE_MANAGED_SAVE */)) {
      throw errors.operationInvalid(D, 'Refusing to undefine while domain managed save image exists')
    }
    this.managed.delete(d)
  }

  private activeDomain(uuid: string): T {
    const d = this.ops.get(uuid)
    if (!isActive(d) || !d.live) throw errors.operationInvalid(ErrorDomain.DOMAIN, 'domain is not running')
    return d
  }

  private write(path: string, def: DomainDef, id?: number): void {
    const xml = Buffer.from(formatDomainXml(def, {id, active: id !== undefined, secure: true}))
    const len = Buffer.alloc(4)
    len.writeInt32LE(xml.length)
    try {
      fs.writeFileSync(path, Buffer.concat([MAGIC, len, xml]), {mode: 0o600})
    } catch (err) {
      fs.rmSync(path, {force: true})
      throw sysErr(`saving domain '${def.name}' to '${path}': open failed`, err)
    }
  }

  /** Reads a test save image (libvirt's test driver's checks and messages). */
  private read(path: string): DomainDef {
    let data: Buffer
    try {
      data = fs.readFileSync(path)
    } catch (err) {
      throw sysErr(`cannot read domain image '${path}'`, err)
    }
    if (data.length < MAGIC.length) throw sysErr(`incomplete save header in '${path}'`)
    if (!data.subarray(0, MAGIC.length).equals(MAGIC)) throw errors.internal(D, 'mismatched header magic')
    if (data.length < MAGIC.length + 4) throw sysErr(`failed to read metadata length in '${path}'`)
    const len = data.readInt32LE(MAGIC.length)
    if (len < 1 || len > 8192) throw errors.internal(D, 'length of metadata out of range')
    const start = MAGIC.length + 4
    if (data.length < start + len) throw sysErr(`incomplete metadata in '${path}'`)
    return parseDomainXml(data.toString('utf8', start, start + len))
  }

  save(uuid: string, path: string, dxml: string | null, flags: number): void {
    checkFlags(flags, 0, 'testDomainSaveFlags')
    noXmlChange(dxml)
    const d = this.activeDomain(uuid)
    if (d.live) this.write(path, d.live, d.id)
    this.ops.stop(d, ShutoffReason.SAVED, SaveDetail.STOPPED_SAVED)
  }

  restore(path: string, dxml: string | null, flags: number): void {
    checkFlags(flags, 0, 'testDomainRestoreFlags')
    noXmlChange(dxml)
    const def = this.read(path)
    const d = this.ops.addLive(def)
    this.ops.start(d, def, RunningReason.RESTORED)
    this.ops.emit(d, LifecycleEvent.STARTED, SaveDetail.STARTED_RESTORED)
  }

  saveImageGetXMLDesc(path: string, flags: number): string {
    checkFlags(flags, SaveImageXmlFlags.SECURE, 'testDomainSaveImageGetXMLDesc')
    return formatDomainXml(this.read(path), {active: false, secure: true})
  }

  saveImageDefineXML(path: string, dxml: string, flags: number): void {
    checkFlags(flags, SaveFlags.RUNNING | SaveFlags.PAUSED, 'testDomainSaveImageDefineXML')
    this.read(path)
    this.write(path, this.ops.parse(dxml))
  }

  managedSave(uuid: string, flags: number): void {
    checkFlags(flags, SaveFlags.BYPASS_CACHE | SaveFlags.RUNNING | SaveFlags.PAUSED, 'testDomainManagedSave')
    const d = this.activeDomain(uuid)
    if (!d.config) throw errors.operationInvalid(D, 'cannot do managed save for transient domain')
    this.ops.stop(d, ShutoffReason.SAVED, SaveDetail.STOPPED_SAVED)
    this.managed.add(d)
  }

  managedSaveRemove(uuid: string, flags: number): void {
    checkFlags(flags, 0, 'testDomainManagedSaveRemove')
    this.managed.delete(this.ops.get(uuid))
  }

  managedSaveGetXMLDesc(): string {
    throw unsupported('virDomainManagedSaveGetXMLDesc')
  }

  managedSaveDefineXML(): void {
    throw unsupported('virDomainManagedSaveDefineXML')
  }
}
