/**
 * Persistent definitions of QEMU domains: parsing and validating domain XML for this QEMU,
 * define / undefine, the XML a client reads back (live or inactive), autostart, and loading the
 * definitions from CONFIGDIR/qemu at start-up.
 */
import * as fs from 'node:fs'
import {ErrorCode, ErrorDomain, VirError, errors} from '../../errors.js'
import {checkVncPasswords, formatDomainXml, parseDomainXml, type DomainDef} from '../../conf/domain.js'
import {currentDef} from '../../conf/domain-list.js'
import {DefinedDetail, LifecycleEvent, UndefinedDetail, XmlFlags, type DomainRef} from '../types.js'
import {applyQemuDefaults, validateForQemu} from './validate.js'
import {errnoText} from './capabilities.js'
import {D, inactiveCopy, type QemuContext} from './context.js'

/** Parses domain XML for this driver: QEMU defaults applied, checked against the probed QEMU. */
export function parseForQemu(ctx: QemuContext, xml: string): DomainDef {
  const def = parseDomainXml(xml)
  checkVncPasswords(def)
  const {target} = ctx.probe
  applyQemuDefaults(def, target)
  if (def.devices.emulator !== undefined) checkEmulator(ctx.emulator, def.devices.emulator)
  validateForQemu(def, target)
  return def
}

/** Refuses an emulator other than the one this driver runs (a missing file with libvirt's system error). */
export function checkEmulator(emulator: string, given: string): void {
  if (given === emulator) return
  let same: boolean
  try {
    same = fs.realpathSync(given) === fs.realpathSync(emulator)
  } catch (err) {
    throw new VirError(ErrorCode.SYSTEM_ERROR, D, `Cannot check QEMU binary ${given}: ${errnoText(err as NodeJS.ErrnoException)}`)
  }
  if (!same) throw errors.configUnsupported(D, `Emulator '${given}' is not supported by this daemon (it runs ${emulator})`)
}

/** Loads the persistent definitions (CONFIGDIR/qemu/NAME.xml), skipping unreadable ones with a warning. */
export async function loadConfigs(ctx: QemuContext): Promise<void> {
  for (const c of await ctx.store.readAllConfigs()) {
    if (c.error || c.xml === undefined) {
      ctx.log.warn(`qemu: cannot read ${c.file}: ${c.error}`)
      continue
    }
    let def: DomainDef
    try {
      def = parseDomainXml(c.xml)
      applyQemuDefaults(def, ctx.probe.target)
    } catch (err) {
      ctx.log.warn(`qemu: ignoring ${c.file}: ${(err as Error).message}`)
      continue
    }
    if (def.name !== c.name) {
      ctx.log.warn(`qemu: ignoring ${c.file}: it defines domain '${def.name}'`)
      continue
    }
    const other = ctx.domains.findByUuid(def.uuid)
    if (other) {
      ctx.log.warn(`qemu: ignoring ${c.file}: uuid ${def.uuid} is already used by '${other.name}'`)
      continue
    }
    const dom = ctx.addDomain(def.name, def.uuid)
    dom.config = def
    dom.autostart = ctx.store.isAutostart(def.name)
  }
}

export async function defineXML(ctx: QemuContext, xml: string): Promise<DomainRef> {
  const def = parseForQemu(ctx, xml)
  const existing = ctx.domains.checkClash(def)
  const dom = existing ?? ctx.addDomain(def.name, def.uuid)
  const wasPersistent = dom.config !== undefined
  try {
    await ctx.store.writeConfig(def.name, formatDomainXml(def, {secure: true}))
  } catch (err) {
    if (!existing) ctx.domains.remove(dom)
    throw errors.systemError(D, `cannot write definition of '${def.name}': ${(err as Error).message}`)
  }
  dom.config = def
  if (dom.run) {
    dom.updated = true
    void ctx.saveStatus(dom)
  }
  ctx.emitLifecycle(ctx.ref(dom), LifecycleEvent.DEFINED, wasPersistent ? DefinedDetail.UPDATED : DefinedDetail.ADDED)
  return ctx.ref(dom)
}

export async function undefine(ctx: QemuContext, uuid: string): Promise<void> {
  const dom = ctx.domains.get(uuid)
  if (!dom.config) throw errors.operationInvalid(ErrorDomain.DOMAIN, 'cannot undefine transient domain')
  await ctx.store.removeConfig(dom.name)
  dom.config = undefined
  dom.autostart = false
  dom.updated = false
  ctx.emitLifecycle(ctx.ref(dom), LifecycleEvent.UNDEFINED, UndefinedDetail.REMOVED)
  if (dom.run) void ctx.saveStatus(dom)
  else ctx.domains.remove(dom)
}

export function getXMLDesc(ctx: QemuContext, uuid: string, flags: number): string {
  const d = ctx.domains.get(uuid)
  // libvirt's QEMU driver keeps passwords in migratable XML too.
  const secure = (flags & (XmlFlags.SECURE | XmlFlags.MIGRATABLE)) !== 0
  if (flags & XmlFlags.INACTIVE) return formatDomainXml(d.config ?? inactiveCopy(currentDef(d)), {active: false, secure})
  if (d.live) return formatDomainXml(d.live, {id: d.id, active: true, secure})
  return formatDomainXml(currentDef(d), {active: false, secure})
}

export async function setAutostart(ctx: QemuContext, uuid: string, on: boolean): Promise<void> {
  const d = ctx.domains.get(uuid)
  if (!d.config) throw errors.operationInvalid(ErrorDomain.DOMAIN, 'cannot set autostart for transient domain')
  if (d.autostart === on) return
  try {
    await ctx.store.setAutostart(d.name, on)
  } catch (err) {
    throw errors.systemError(D, `Failed to ${on ? 'create' : 'delete'} symlink '${ctx.store.autostartPath(d.name)}': ${(err as Error).message}`)
  }
  d.autostart = on
  if (d.run) void ctx.saveStatus(d)
}
