/**
 * Saving a running QEMU guest to a file and restoring it, as libvirt's QEMU driver does: the guest
 * is paused, its state goes through QEMU's migration stream into a file in libvirt's save image
 * layout (save-image.ts), written beside the target and renamed into place once complete, and the
 * QEMU process ends (shut off, reason saved). Restore starts QEMU with `-incoming defer` and feeds
 * it the stream from the file; the guest continues where it was (running or paused as saved).
 */
import * as fs from 'node:fs'
import {basename, dirname, join} from 'node:path'
import {ErrorCode, ErrorDomain, VirError, errors} from '../../errors.js'
import {formatDomainXml, parseDomainXml, type DomainDef} from '../../conf/domain.js'
import {DomainState, LifecycleEvent, ResumedDetail, SuspendedDetail} from '../types.js'
import {PAUSED_SAVE, SaveFlags, SaveImageXmlFlags} from '../save-types.js'
import {D, inactiveCopy, noop, type QemuContext, type QemuDomain} from './context.js'
import {parseForQemu} from './definitions.js'
import {waitGone} from './exit.js'
import {migrateIncomingFromFd, migrateToFd} from './migration-stream.js'
import {signalPid} from './process.js'
import {encodeSaveData, markComplete, openSaveImage, readSaveImage, readSaveImageFile, rewriteSaveImage} from './save-image.js'
import {startDomain} from './start.js'

/** VIR_DOMAIN_RUNNING_SAVE_CANCELED: running again after a failed save. */
const RUNNING_SAVE_CANCELED = 7

function unsupportedFlags(flags: number, known: number, fn: string): void {
  if (flags & ~known) {
    const msg = `unsupported flags (0x${(flags & ~known).toString(16)}) in function ${fn}`
    throw new VirError(ErrorCode.INVALID_ARG, D, msg, {str1: '%s', str2: msg})
  }
}

/** Checks virDomainSaveRestoreFlags (BYPASS_CACHE, RUNNING, PAUSED; the last two exclusive). */
export function checkSaveFlags(flags: number, fn: string, extra = 0): void {
  unsupportedFlags(flags, SaveFlags.BYPASS_CACHE | SaveFlags.RUNNING | SaveFlags.PAUSED | extra, fn)
  if (flags & SaveFlags.RUNNING && flags & SaveFlags.PAUSED) {
    throw errors.invalidArg(D, "flags 'running' and 'paused' are mutually exclusive")
  }
}

/** libvirt's ABI check of replacement XML, reduced to what identifies the guest. */
export function checkSameDomain(def: DomainDef, saved: {name: string; uuid: string}): void {
  if (def.name !== saved.name) throw errors.configUnsupported(D, `Target domain name '${def.name}' does not match source '${saved.name}'`)
  if (def.uuid !== saved.uuid) throw errors.configUnsupported(D, `Target domain uuid ${def.uuid} does not match source ${saved.uuid}`)
}

function writeAll(fd: number, data: Buffer): void {
  let off = 0
  while (off < data.length) off += fs.writeSync(fd, data, off, data.length - off, null)
}

/** Whether a save/restore with `flags` leaves the guest running, given how it was. */
function runsAfter(flags: number, wasRunning: boolean): boolean {
  if (flags & SaveFlags.RUNNING) return true
  if (flags & SaveFlags.PAUSED) return false
  return wasRunning
}

/** Saves the running guest `dom` to `path` and stops it; the caller holds no job on it. */
export async function saveDomain(ctx: QemuContext, dom: QemuDomain, path: string, dxml: string | null, flags: number): Promise<void> {
  await ctx.withJob(dom, async () => {
    const run = ctx.requireActive(dom)
    const qmp = ctx.requireMonitor(run)
    if (!dom.live) throw errors.operationInvalid(ErrorDomain.DOMAIN, 'domain is not running')
    let def = inactiveCopy(dom.live)
    // The saved definition is the migratable one: no runtime aliases.
    for (const c of [...def.devices.serials, ...def.devices.consoles]) c.alias = undefined
    if (dxml !== null) {
      const given = parseForQemu(ctx, dxml)
      checkSameDomain(given, def)
      def = given
    }
    const xml = formatDomainXml(def, {active: false, secure: true})
    const wasRunning = dom.state === DomainState.RUNNING
    if (wasRunning) {
      run.pauseReason = PAUSED_SAVE
      await qmp.execute('stop')
      run.pauseReason = undefined
      if (dom.run === run && dom.state === DomainState.RUNNING) {
        dom.state = DomainState.PAUSED
        dom.reason = PAUSED_SAVE
        ctx.emitLifecycle(ctx.ref(dom), LifecycleEvent.SUSPENDED, SuspendedDetail.PAUSED)
      }
    }
    const tmp = join(dirname(path), `.${basename(path)}.vctl-part`)
    let fd: number | undefined
    try {
      try {
        fd = fs.openSync(tmp, 'w', 0o600)
      } catch (err) {
        const detail = `Failed to create file '${path}': ${(err as Error).message.replace(/^[A-Z]+: /, '').replace(/, open .*$/, '')}`
        throw new VirError(ErrorCode.SYSTEM_ERROR, D, detail, {str1: '%s', str2: detail})
      }
      writeAll(fd, encodeSaveData(xml, runsAfter(flags, wasRunning)))
      await migrateToFd(qmp, fd)
      markComplete(fd)
      fs.fsyncSync(fd)
      fs.closeSync(fd)
      fd = undefined
      fs.renameSync(tmp, path)
    } catch (err) {
      if (fd !== undefined) fs.closeSync(fd)
      fs.rmSync(tmp, {force: true})
      if (wasRunning && dom.run === run && !run.gone) {
        await qmp.execute('cont').catch(noop)
        if (dom.state === DomainState.PAUSED) {
          dom.state = DomainState.RUNNING
          dom.reason = RUNNING_SAVE_CANCELED
          ctx.emitLifecycle(ctx.ref(dom), LifecycleEvent.RESUMED, ResumedDetail.UNPAUSED)
        }
        void ctx.saveStatus(dom)
      }
      throw err
    }
    // Saved: the process ends (its exit records "shut off, saved" and sends STOPPED SAVED).
    run.stopping = 'save'
    signalPid(run.pid, 'SIGTERM')
    if (!(await waitGone(ctx, dom, run, ctx.destroyGraceMs))) {
      signalPid(run.pid, 'SIGKILL')
      await waitGone(ctx, dom, run, 10000)
    }
    await run.exited
  })
}

/**
 * Starts the guest saved in `path` (dxml: a replacement definition of the same guest). `expect`
 * names the domain the image must belong to (a managed save); `startPaused` overrides the flags.
 */
export async function restoreDomain(
  ctx: QemuContext,
  path: string,
  dxml: string | null,
  flags: number,
  expect?: {name: string; uuid: string; startPaused: boolean},
): Promise<QemuDomain> {
  const fd = openSaveImage(path)
  try {
    const img = readSaveImage(fd)
    let def = parseForQemu(ctx, img.xml)
    if (dxml !== null) {
      const given = parseForQemu(ctx, dxml)
      checkSameDomain(given, def)
      def = given
    }
    if (expect) checkSameDomain(def, expect)
    const paused = expect ? expect.startPaused || !img.wasRunning : !runsAfter(flags, img.wasRunning)
    const existing = ctx.domains.checkClash(def)
    if (existing?.run) throw errors.operationInvalid(ErrorDomain.DOMAIN, `domain '${def.name}' is already active`)
    const dom = existing ?? ctx.addDomain(def.name, def.uuid)
    await ctx.withJob(dom, async () => {
      if (dom.run) throw errors.operationInvalid(ErrorDomain.DOMAIN, `domain '${def.name}' is already active`)
      await startDomain(ctx, dom, def, paused, {receive: (qmp) => migrateIncomingFromFd(qmp, fd)})
    })
    return dom
  } finally {
    fs.closeSync(fd)
  }
}

/** The XML in a save image, formatted as libvirt does (secrets only with SECURE). */
export function saveImageXml(path: string, flags: number, fn: string): string {
  unsupportedFlags(flags, SaveImageXmlFlags.SECURE, fn)
  const img = readSaveImageFile(path)
  return formatDomainXml(parseDomainXml(img.xml), {active: false, secure: (flags & SaveImageXmlFlags.SECURE) !== 0})
}

/** Replaces the XML in a save image (same guest; RUNNING / PAUSED change how it restores). */
export function saveImageDefine(ctx: QemuContext, path: string, dxml: string | null, flags: number, fn: string): void {
  unsupportedFlags(flags, SaveFlags.RUNNING | SaveFlags.PAUSED, fn)
  checkSaveFlags(flags, fn)
  const img = readSaveImageFile(path)
  const saved = parseDomainXml(img.xml)
  let xml = img.xml
  if (dxml !== null) {
    const def = parseForQemu(ctx, dxml)
    checkSameDomain(def, saved)
    xml = formatDomainXml(def, {active: false, secure: true})
  }
  rewriteSaveImage(path, img, xml, runsAfter(flags, img.wasRunning))
}
