/**
 * The network-filter driver (nwfilter:///system, in libvirtd and virtnwfilterd): filter definitions
 * in the config directory (`NAME.xml`, the standard filters installed there on first start) and
 * bindings applied with nftables (bindings.ts). Changes are serialised.
 */
import {existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {randomUUID} from 'node:crypto'

import {ErrorCode, VirError} from '../../errors.js'
import {writeFileAtomic} from '../../fs-atomic.js'
import {parseUuid} from '../../uuid.js'
import {
  NWFILTER_DOMAIN,
  formatBindingXml,
  formatNwFilterXml,
  parseBindingXml,
  parseNwFilterXml,
  referencedFilters,
  type NwFilterDef,
} from '../../conf/nwfilter.js'
import type {LogSink} from '../types.js'
import type {NwFilterBindingRef, NwFilterDriver, NwFilterRef} from '../nwfilter-types.js'
import {BindingSet, type IpLearner} from './bindings.js'
import {STANDARD_FILTERS} from './standard.js'

const NW = NWFILTER_DOMAIN
/** virNWFilterDefineFlags / virNWFilterBindingCreateFlags: VALIDATE. */
const VALIDATE = 1

export interface NwFilterDriverOptions {
  /** Filter definitions, e.g. ROOT/etc/libvirt/nwfilter. */
  configDir: string
  /** Bindings of running guests, e.g. ROOT/run/libvirt/nwfilter-binding. */
  bindingDir: string
  log: Pick<LogSink, 'warn'>
  learnIp?: IpLearner
}

function noFilter(detail: string): VirError {
  return new VirError(ErrorCode.NO_NWFILTER, NW, `Network filter not found: ${detail}`, {str1: 'Network filter not found: %s', str2: detail})
}

function failed(detail: string): VirError {
  return new VirError(ErrorCode.OPERATION_FAILED, NW, `operation failed: ${detail}`, {str1: 'operation failed: %s', str2: detail})
}

function checkFlags(flags: number, allowed: number, fn: string): void {
  const extra = (flags >>> 0) & ~allowed
  if (extra) {
    const detail = `unsupported flags (0x${extra.toString(16)}) in function ${fn}`
    throw new VirError(ErrorCode.INVALID_ARG, NW, `invalid argument: ${detail}`, {str1: 'invalid argument: %s', str2: detail})
  }
}

export class NwFilterDriverImpl implements NwFilterDriver {
  private readonly filters = new Map<string, NwFilterDef>()
  readonly bindings: BindingSet
  private queue: Promise<unknown> = Promise.resolve()

  private constructor(private readonly opts: NwFilterDriverOptions) {
    mkdirSync(opts.configDir, {recursive: true, mode: 0o755})
    this.bindings = new BindingSet(opts.bindingDir, (n) => this.filters.get(n), opts.log, opts.learnIp)
  }

  static async create(opts: NwFilterDriverOptions): Promise<NwFilterDriverImpl> {
    const d = new NwFilterDriverImpl(opts)
    d.installStandard()
    d.loadFilters()
    await d.bindings.load()
    return d
  }

  /** The standard filters, written once (as a package install does): undefining one keeps it gone. */
  private installStandard(): void {
    const marker = join(this.opts.configDir, '.vctl-standard-filters')
    if (existsSync(marker)) return
    for (const [name, xml] of STANDARD_FILTERS) {
      const file = join(this.opts.configDir, `${name}.xml`)
      if (existsSync(file)) continue
      const def = parseNwFilterXml(xml)
      def.uuid = randomUUID()
      writeFileSync(file, formatNwFilterXml(def), {mode: 0o600})
    }
    writeFileSync(marker, '')
  }

  private loadFilters(): void {
    for (const f of readdirSync(this.opts.configDir).filter((x) => x.endsWith('.xml'))) {
      try {
        const def = parseNwFilterXml(readFileSync(join(this.opts.configDir, f), 'utf8'))
        this.filters.set(def.name, def)
      } catch (err) {
        this.opts.log.warn(`nwfilter: skipping ${f}: ${String(err)}`)
      }
    }
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn)
    this.queue = run.catch(() => undefined)
    return run
  }

  private byUuid(uuid: string): NwFilterDef | undefined {
    for (const d of this.filters.values()) if (d.uuid === uuid) return d
    return undefined
  }

  private objFrom(ref: NwFilterRef): NwFilterDef {
    const d = this.byUuid(parseUuid(ref.uuid) ?? ref.uuid)
    if (!d) throw noFilter(`no nwfilter with matching uuid '${ref.uuid}' (${ref.name})`)
    return d
  }

  listNwFilters(): NwFilterRef[] {
    return [...this.filters.values()].map((d) => ({name: d.name, uuid: d.uuid}))
  }

  nwfilterLookupByName(name: string): NwFilterRef {
    const d = this.filters.get(name)
    if (!d) throw noFilter(`no nwfilter with matching name '${name}'`)
    return {name: d.name, uuid: d.uuid}
  }

  nwfilterLookupByUUID(uuid: string): NwFilterRef {
    const d = this.byUuid(parseUuid(uuid) ?? uuid)
    if (!d) throw noFilter(`no nwfilter with matching uuid '${uuid}'`)
    return {name: d.name, uuid: d.uuid}
  }

  nwfilterGetXMLDesc(ref: NwFilterRef, flags: number): string {
    checkFlags(flags, 0, 'nwfilterGetXMLDesc')
    return formatNwFilterXml(this.objFrom(ref))
  }

  /** Whether defining `def` would make a filter reach itself through references. */
  private loops(def: NwFilterDef): boolean {
    const seen = new Set<string>()
    const walk = (names: string[]): boolean =>
      names.some((n) => {
        if (n === def.name) return true
        if (seen.has(n)) return false
        seen.add(n)
        const d = this.filters.get(n)
        return d ? walk(referencedFilters(d)) : false
      })
    return walk(referencedFilters(def))
  }

  nwfilterDefineXML(xml: string, flags: number): Promise<NwFilterRef> {
    checkFlags(flags, VALIDATE, 'nwfilterDefineXMLFlags')
    const def = parseNwFilterXml(xml)
    return this.serial(async () => {
      const sameUuid = this.byUuid(def.uuid)
      if (sameUuid && sameUuid.name !== def.name) throw failed(`filter with same UUID but different name ('${sameUuid.name}') already exists`)
      const sameName = this.filters.get(def.name)
      if (sameName && sameName.uuid !== def.uuid) throw failed(`filter '${def.name}' already exists with uuid ${sameName.uuid}`)
      if (this.loops(def)) throw failed('filter would introduce a loop')
      await writeFileAtomic(join(this.opts.configDir, `${def.name}.xml`), formatNwFilterXml(def), 0o600)
      this.filters.set(def.name, def)
      if (sameName && this.bindings.uses(def.name)) await this.bindings.rebuild()
      return {name: def.name, uuid: def.uuid}
    })
  }

  nwfilterUndefine(ref: NwFilterRef): Promise<void> {
    return this.serial(async () => {
      const def = this.objFrom(ref)
      if (this.bindings.uses(def.name)) {
        const detail = 'nwfilter is in use'
        throw new VirError(ErrorCode.OPERATION_INVALID, NW, `Requested operation is not valid: ${detail}`, {
          str1: 'Requested operation is not valid: %s',
          str2: detail,
        })
      }
      rmSync(join(this.opts.configDir, `${def.name}.xml`), {force: true})
      this.filters.delete(def.name)
      await Promise.resolve()
    })
  }

  listNwFilterBindings(): NwFilterBindingRef[] {
    return this.bindings.list()
  }

  nwfilterBindingLookupByPortDev(portdev: string): NwFilterBindingRef {
    const def = this.bindings.get(portdev)
    return {portdev: def.portdev, filtername: def.filter}
  }

  nwfilterBindingGetXMLDesc(portdev: string, flags: number): string {
    checkFlags(flags, 0, 'nwfilterBindingGetXMLDesc')
    return formatBindingXml(this.bindings.get(portdev))
  }

  nwfilterBindingCreateXML(xml: string, flags: number): Promise<NwFilterBindingRef> {
    checkFlags(flags, VALIDATE, 'nwfilterBindingCreateXML')
    const def = parseBindingXml(xml)
    return this.serial(async () => {
      await this.bindings.create(def)
      return {portdev: def.portdev, filtername: def.filter}
    })
  }

  nwfilterBindingDelete(portdev: string): Promise<void> {
    return this.serial(() => this.bindings.delete(portdev))
  }

  close(): void {
    this.bindings.stop()
  }
}
