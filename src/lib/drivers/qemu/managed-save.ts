/**
 * The QEMU driver's SaveDriver: save/restore to a file (save.ts) and managed save, libvirt's
 * "save it where the next start finds it": STATEDIR/save/NAME.save (var/lib/libvirt/qemu/save
 * under the root). A start restores the image and removes it (START_FORCE_BOOT discards it
 * instead); undefine refuses while one exists unless asked to remove it too.
 */
import * as fs from 'node:fs'
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'
import {ErrorCode, VirError, errors} from '../../errors.js'
import {CreateFlags, type DomainRef} from '../types.js'
import {SaveFlags, START_FORCE_BOOT, UNDEFINE_MANAGED_SAVE, type SaveDriver} from '../save-types.js'
import {errnoText} from './capabilities.js'
import {D, type QemuContext, type QemuDomain} from './context.js'
import {checkSaveFlags, restoreDomain, saveDomain, saveImageDefine, saveImageXml} from './save.js'
import * as start from './start.js'

export class QemuSaves implements SaveDriver {
  constructor(private readonly ctx: QemuContext) {}

  /** Where the managed save image of the domain named `name` lives. */
  path(name: string): string {
    return join(this.ctx.store.dirs.stateDir, 'save', `${name}.save`)
  }

  has(d: {name: string}): boolean {
    return fs.existsSync(this.path(d.name))
  }

  hasManagedSave(uuid: string): boolean {
    return this.has(this.ctx.domains.get(uuid))
  }

  // ---- save and restore to a file -----------------------------------------------------------

  save(uuid: string, path: string, dxml: string | null, flags: number): Promise<void> {
    checkSaveFlags(flags, 'qemuDomainSaveFlags')
    return saveDomain(this.ctx, this.ctx.domains.get(uuid), path, dxml, flags)
  }

  async restore(path: string, dxml: string | null, flags: number): Promise<void> {
    checkSaveFlags(flags, 'qemuDomainRestoreFlags', SaveFlags.RESET_NVRAM)
    await restoreDomain(this.ctx, path, dxml, flags)
  }

  saveImageGetXMLDesc(path: string, flags: number): string {
    return saveImageXml(path, flags, 'qemuDomainSaveImageGetXMLDesc')
  }

  saveImageDefineXML(path: string, dxml: string, flags: number): void {
    saveImageDefine(this.ctx, path, dxml, flags, 'qemuDomainSaveImageDefineXML')
  }

  // ---- managed save -----------------------------------------------------------------------

  async managedSave(uuid: string, flags: number): Promise<void> {
    checkSaveFlags(flags, 'qemuDomainManagedSave')
    const dom = this.ctx.domains.get(uuid)
    if (!dom.config) throw errors.operationInvalid(D, 'cannot do managed save for transient domain')
    const path = this.path(dom.name)
    await fsp.mkdir(join(this.ctx.store.dirs.stateDir, 'save'), {recursive: true, mode: 0o700})
    await saveDomain(this.ctx, dom, path, null, flags)
  }

  async managedSaveRemove(uuid: string, flags: number): Promise<void> {
    unsupported(flags, 0, 'qemuDomainManagedSaveRemove')
    const path = this.path(this.ctx.domains.get(uuid).name)
    try {
      await fsp.unlink(path)
    } catch (err) {
      throw errors.systemError(D, `Failed to remove managed save file '${path}': ${errnoText(err as NodeJS.ErrnoException)}`)
    }
  }

  managedSaveGetXMLDesc(uuid: string, flags: number): string {
    return saveImageXml(this.existing(uuid), flags, 'qemuDomainManagedSaveGetXMLDesc')
  }

  managedSaveDefineXML(uuid: string, dxml: string | null, flags: number): void {
    saveImageDefine(this.ctx, this.existing(uuid), dxml, flags, 'qemuDomainManagedSaveDefineXML')
  }

  private existing(uuid: string): string {
    const path = this.path(this.ctx.domains.get(uuid).name)
    if (!fs.existsSync(path)) throw errors.operationInvalid(D, 'domain does not have managed save image')
    return path
  }

  // ---- hooks of start and undefine --------------------------------------------------------

  /** virDomainCreateWithFlags: restores the managed save image if there is one (and removes it), else boots. */
  async create(uuid: string, flags: number): Promise<DomainRef> {
    const dom = this.ctx.domains.get(uuid)
    const path = this.path(dom.name)
    if (!dom.run && fs.existsSync(path)) {
      if (flags & START_FORCE_BOOT) await fsp.rm(path, {force: true})
      else {
        const startPaused = (flags & CreateFlags.PAUSED) !== 0
        await restoreDomain(this.ctx, path, null, 0, {name: dom.name, uuid: dom.uuid, startPaused})
        await fsp.rm(path, {force: true})
        return this.ctx.ref(dom)
      }
    }
    return start.create(this.ctx, uuid, flags & ~START_FORCE_BOOT)
  }

  /** Undefine: refused while a managed save image exists, unless the flags say to remove it. */
  async checkUndefine(d: QemuDomain, flags: number): Promise<void> {
    const path = this.path(d.name)
    if (!d.config || !fs.existsSync(path)) return
    if (!(flags & UNDEFINE_MANAGED_SAVE)) {
      throw errors.operationInvalid(D, 'Refusing to undefine while domain managed save image exists')
    }
    try {
      await fsp.unlink(path)
    } catch (err) {
      throw errors.systemError(D, `Failed to remove domain managed save image: ${errnoText(err as NodeJS.ErrnoException)}`)
    }
  }
}

function unsupported(flags: number, known: number, fn: string): void {
  if (flags & ~known) {
    const msg = `unsupported flags (0x${(flags & ~known).toString(16)}) in function ${fn}`
    throw new VirError(ErrorCode.INVALID_ARG, D, msg, {str1: '%s', str2: msg})
  }
}
