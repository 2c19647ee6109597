/**
 * The secret driver: libvirt's virSecret API over a directory of definitions.
 *
 * Persistent secrets live in `configDir` as `UUID.xml` (the definition) plus, once a value has
 * been set, `UUID.base64` (the value, base64 without line breaks); both are written atomically
 * with mode 0600. Ephemeral secrets are held in memory only and vanish with the daemon. The
 * definitions are read back when the driver is constructed; a file that cannot be used is
 * skipped (and reported through the optional logger), never fatal.
 *
 * Changes are applied one at a time (define, set value and undefine queue behind each other), and
 * the in-memory state only changes once the files are written, so a failed write leaves both the
 * disk and the driver as they were.
 */
import {EventEmitter} from 'node:events'
import * as fs from 'node:fs'
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'

import {ErrorCode, ErrorDomain, VirError, errors} from '../../errors.js'
import {writeFileAtomic} from '../../fs-atomic.js'
import {
  type SecretDef,
  formatSecretXml,
  parseSecretXml,
  secretFromXml,
  secretUsageId,
  secretUsageType,
  validateSecretSchema,
  SecretUsageType,
} from '../../conf/secret.js'
import {parseXml} from '../../conf/xml.js'
import type {LogSink, SecretDriver, SecretRef} from '../types.js'

const S = ErrorDomain.SECRET

/** virConnectListAllSecrets flags. */
export const ListSecretsFlags = {EPHEMERAL: 1, NO_EPHEMERAL: 2, PRIVATE: 4, NO_PRIVATE: 8} as const
const LIST_FLAGS_ALL = 15

/** virSecretDefineFlags. */
export const SecretDefineFlags = {VALIDATE: 1} as const

/** virSecretEventLifecycleType (the detail is always 0). */
export const SecretLifecycleEvent = {DEFINED: 0, UNDEFINED: 1} as const

/** virSecretEventID. */
export const SecretEventId = {LIFECYCLE: 0, VALUE_CHANGED: 1} as const

/** Largest value accepted (the RPC protocol's limit, REMOTE_SECRET_VALUE_MAX). */
export const SECRET_VALUE_MAX = 65536

export interface SecretEventRef extends SecretRef {
  /** The UUID again: lets generic object-event code that keys on `name` handle secrets too. */
  name: string
}

/** Emitted as 'secret'. */
export interface SecretLifecycleMsg {
  kind: 'lifecycle'
  ref: SecretEventRef
  event: number
  detail: number
}

/** Emitted as 'secret-value' after a value was set (libvirt's VIR_SECRET_EVENT_ID_VALUE_CHANGED). */
export interface SecretValueChangedMsg {
  kind: 'value-changed'
  ref: SecretEventRef
}

export type SecretDriverLogger = Pick<LogSink, 'warn'>

export interface SecretDriverOptions {
  /** Persistent definitions and values, e.g. ROOT/etc/libvirt/secrets. */
  configDir: string
  /** Runtime directory, e.g. ROOT/run/libvirt/secrets (created; ephemeral secrets stay in memory). */
  runDir: string
  logger?: SecretDriverLogger
}

interface SecretObj {
  def: SecretDef
  value?: Buffer
}

function checkFlags(flags: number, allowed: number, fn: string): void {
  const extra = (flags >>> 0) & ~allowed
  if (extra !== 0) throw errors.invalidArg(S, `unsupported flags (0x${extra.toString(16)}) in function ${fn}`)
}

function systemError(what: string, err: unknown): VirError {
  const e = err as NodeJS.ErrnoException
  const reason = e && typeof e === 'object' && 'message' in e ? e.message.replace(/^[A-Z]+: /, '') : String(err)
  return errors.systemError(S, `${what}: ${reason}`)
}

/** The usage id libvirt compares on redefinition: none for usage type none. */
function usageIdOrNull(def: SecretDef): string | undefined {
  return def.usage === undefined || def.usage.type === 'none' ? undefined : def.usage.id
}

export class SecretDriverImpl implements SecretDriver {
  readonly events = new EventEmitter()
  readonly configDir: string
  readonly runDir: string
  private readonly logger?: SecretDriverLogger
  private readonly secrets = new Map<string, SecretObj>()
  private queue: Promise<unknown> = Promise.resolve()

  constructor(opts: SecretDriverOptions) {
    this.events.setMaxListeners(0)
    this.configDir = opts.configDir
    this.runDir = opts.runDir
    this.logger = opts.logger
    fs.mkdirSync(this.configDir, {recursive: true, mode: 0o700})
    fs.mkdirSync(this.runDir, {recursive: true, mode: 0o700})
    this.loadAll()
  }

  // ---- files ------------------------------------------------------------------------------

  private xmlPath(uuid: string): string {
    return join(this.configDir, `${uuid}.xml`)
  }

  private valuePath(uuid: string): string {
    return join(this.configDir, `${uuid}.base64`)
  }

  private loadAll(): void {
    let names: string[]
    try {
      names = fs.readdirSync(this.configDir)
    } catch (err) {
      this.logger?.warn(`Error reading secrets directory '${this.configDir}': ${(err as Error).message}`)
      return
    }
    for (const file of names.sort()) {
      if (!file.endsWith('.xml')) continue
      try {
        this.loadOne(file)
      } catch (err) {
        this.logger?.warn(`Error reading secret: ${(err as Error).message}`)
      }
    }
  }

  private loadOne(file: string): void {
    const path = join(this.configDir, file)
    const def = parseSecretXml(fs.readFileSync(path, 'utf8'), {docName: path})
    if (file !== `${def.uuid}.xml`) {
      throw errors.internal(S, `<uuid> does not match secret file name '${file}'`)
    }
    this.checkAdd(def)
    const obj: SecretObj = {def}
    let text: string | undefined
    try {
      text = fs.readFileSync(this.valuePath(def.uuid), 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw systemError(`cannot read '${this.valuePath(def.uuid)}'`, err)
    }
    if (text !== undefined) {
      const value = Buffer.from(text.trim(), 'base64')
      if (value.length > 0) obj.value = value
    }
    this.secrets.set(def.uuid, obj)
  }

  private async writeDef(def: SecretDef): Promise<void> {
    const path = this.xmlPath(def.uuid)
    try {
      await writeFileAtomic(path, formatSecretXml(def), 0o600)
    } catch (err) {
      throw systemError(`cannot write secret file '${path}'`, err)
    }
  }

  private async writeValue(uuid: string, value: Buffer): Promise<void> {
    const path = this.valuePath(uuid)
    try {
      await writeFileAtomic(path, value.toString('base64'), 0o600)
    } catch (err) {
      throw systemError(`cannot write secret value file '${path}'`, err)
    }
  }

  private async removeDef(uuid: string): Promise<void> {
    const path = this.xmlPath(uuid)
    try {
      await fsp.unlink(path)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw systemError(`cannot unlink '${path}'`, err)
    }
  }

  /** Best effort, as libvirt: once the definition is gone the value is never loaded again. */
  private async removeValue(uuid: string): Promise<void> {
    await fsp.unlink(this.valuePath(uuid)).catch(() => {})
  }

  // ---- helpers ----------------------------------------------------------------------------

  /** Runs changes one after another. */
  private serialize<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn)
    this.queue = run.catch(() => {})
    return run
  }

  private ref(def: SecretDef): SecretRef {
    return {uuid: def.uuid, usageType: secretUsageType(def), usageID: secretUsageId(def)}
  }

  private eventRef(def: SecretDef): SecretEventRef {
    return {...this.ref(def), name: def.uuid}
  }

  private emitLifecycle(def: SecretDef, event: number): void {
    const msg: SecretLifecycleMsg = {kind: 'lifecycle', ref: this.eventRef(def), event, detail: 0}
    this.events.emit('secret', msg)
  }

  private get(uuid: string): SecretObj {
    const key = uuid.toLowerCase()
    const obj = this.secrets.get(key)
    if (!obj) throw errors.noSecret(`no secret with matching uuid '${key}'`)
    return obj
  }

  private findByUsage(usageType: number, usageID: string): SecretObj | undefined {
    if (usageType === SecretUsageType.none) return undefined
    for (const obj of this.secrets.values()) {
      if (secretUsageType(obj.def) === usageType && usageIdOrNull(obj.def) === usageID) return obj
    }
    return undefined
  }

  /**
   * The checks libvirt makes before accepting a definition: a redefinition keeps its usage and
   * cannot drop `private`; a new secret cannot take a usage another secret already has.
   * Returns the existing object for a redefinition.
   */
  private checkAdd(def: SecretDef): SecretObj | undefined {
    const existing = this.secrets.get(def.uuid)
    if (existing) {
      const oldId = usageIdOrNull(existing.def)
      if (oldId !== usageIdOrNull(def)) {
        throw errors.internal(S, `a secret with UUID ${def.uuid} is already defined for use with ${oldId ?? '(null)'}`)
      }
      if (existing.def.private && !def.private) throw errors.internal(S, 'cannot change private flag on existing secret')
      return existing
    }
    const id = usageIdOrNull(def)
    const other = id === undefined ? undefined : this.findByUsage(secretUsageType(def), id)
    if (other) throw errors.internal(S, `a secret with UUID ${other.def.uuid} already defined for use with ${id}`)
    return undefined
  }

  // ---- SecretDriver -----------------------------------------------------------------------

  listSecrets(flags: number): SecretRef[] {
    checkFlags(flags, LIST_FLAGS_ALL, 'secretConnectListAllSecrets')
    const F = ListSecretsFlags
    const out: SecretRef[] = []
    for (const {def} of this.secrets.values()) {
      if (flags & (F.EPHEMERAL | F.NO_EPHEMERAL)) {
        if (!((flags & F.EPHEMERAL && def.ephemeral) || (flags & F.NO_EPHEMERAL && !def.ephemeral))) continue
      }
      if (flags & (F.PRIVATE | F.NO_PRIVATE)) {
        if (!((flags & F.PRIVATE && def.private) || (flags & F.NO_PRIVATE && !def.private))) continue
      }
      out.push(this.ref(def))
    }
    return out
  }

  /** How many secrets are defined (virConnectNumOfSecrets). */
  numOfSecrets(): number {
    return this.secrets.size
  }

  lookupSecretByUuid(uuid: string): SecretRef {
    return this.ref(this.get(uuid).def)
  }

  lookupSecretByUsage(usageType: number, usageID: string): SecretRef {
    const obj = this.findByUsage(usageType, usageID)
    if (!obj) throw errors.noSecret(`no secret with matching usage '${usageID}'`)
    return this.ref(obj.def)
  }

  async secretDefineXML(xml: string, flags: number): Promise<SecretRef> {
    checkFlags(flags, SecretDefineFlags.VALIDATE, 'secretDefineXML')
    const root = parseXml(xml, 'definition_of_secret', S)
    if (flags & SecretDefineFlags.VALIDATE) validateSecretSchema(root)
    const def = secretFromXml(root)
    return this.serialize(async () => {
      const existing = this.checkAdd(def)
      if (!def.ephemeral) {
        // Becoming persistent: the value, if any, goes to disk first.
        const wroteValue = existing !== undefined && existing.def.ephemeral && existing.value !== undefined
        if (wroteValue) await this.writeValue(def.uuid, existing.value!)
        try {
          await this.writeDef(def)
        } catch (err) {
          if (wroteValue) await this.removeValue(def.uuid)
          throw err
        }
      } else if (existing !== undefined && !existing.def.ephemeral) {
        // Becoming ephemeral: forget the files, keep the value in memory.
        await this.removeDef(def.uuid)
        await this.removeValue(def.uuid)
      }
      if (existing) existing.def = def
      else this.secrets.set(def.uuid, {def})
      this.emitLifecycle(def, SecretLifecycleEvent.DEFINED)
      return this.ref(def)
    })
  }

  secretGetXMLDesc(uuid: string, flags: number): string {
    checkFlags(flags, 0, 'secretGetXMLDesc')
    return formatSecretXml(this.get(uuid).def)
  }

  async secretSetValue(uuid: string, value: Buffer, flags: number): Promise<void> {
    checkFlags(flags, 0, 'secretSetValue')
    if (value.length > SECRET_VALUE_MAX) {
      throw errors.invalidArg(S, `secret value of ${value.length} bytes is larger than the maximum of ${SECRET_VALUE_MAX}`)
    }
    this.get(uuid)
    const copy = Buffer.from(value)
    return this.serialize(async () => {
      const obj = this.get(uuid)
      // An empty value is no value (as in libvirt, where a zero-length copy is a NULL pointer).
      if (!obj.def.ephemeral) {
        if (copy.length > 0) await this.writeValue(obj.def.uuid, copy)
        else await this.removeValue(obj.def.uuid)
      }
      const old = obj.value
      obj.value = copy.length > 0 ? copy : undefined
      old?.fill(0)
      const msg: SecretValueChangedMsg = {kind: 'value-changed', ref: this.eventRef(obj.def)}
      this.events.emit('secret-value', msg)
    })
  }

  secretGetValue(uuid: string, flags: number, internal: boolean): Buffer {
    checkFlags(flags, 0, 'secretGetValue')
    const obj = this.get(uuid)
    if (!internal && obj.def.private) {
      throw new VirError(ErrorCode.INVALID_SECRET, S, 'Invalid secret: secret is private', {str1: 'Invalid secret: %s', str2: 'secret is private'})
    }
    if (obj.value === undefined) throw errors.noSecret(`secret '${obj.def.uuid}' does not have a value`)
    return Buffer.from(obj.value)
  }

  async secretUndefine(uuid: string): Promise<void> {
    this.get(uuid)
    return this.serialize(async () => {
      const obj = this.get(uuid)
      const def = obj.def
      if (!def.ephemeral) await this.removeDef(def.uuid)
      await this.removeValue(def.uuid)
      this.secrets.delete(def.uuid)
      obj.value?.fill(0)
      this.emitLifecycle(def, SecretLifecycleEvent.UNDEFINED)
    })
  }
}

/** Creates the secret driver over `configDir` (persistent secrets) and `runDir`, loading what is stored. */
export function createSecretDriver(opts: SecretDriverOptions): SecretDriverImpl {
  return new SecretDriverImpl(opts)
}
