/**
 * Screenshots (virDomainScreenshot) on the QEMU driver: QMP `screendump` writes a PPM of the
 * display to a temp file in the driver's state dir; the daemon streams it back and the file is
 * removed once sent, as libvirt does.
 */
import {createReadStream, rmSync} from 'node:fs'
import {mkdtemp} from 'node:fs/promises'
import {join} from 'node:path'
import {attr, child, childrenNamed} from '../../conf/xml.js'
import {errors} from '../../errors.js'
import {unsupportedFlags, type Screenshot} from '../console-types.js'
import {D, type QemuContext, type QemuDomain} from './context.js'

export const SCREENSHOT_MIME = 'image/x-portable-pixmap'

/** The video devices QEMU has for a definition (an implicit VGA behind graphics), with their heads. */
function screens(d: QemuDomain): {alias: string; heads: number}[] {
  const def = d.live
  if (!def) return []
  const videos = childrenNamed(child(def.root, 'devices'), 'video')
  if (videos.length === 0) return def.devices.graphics.length > 0 ? [{alias: 'video0', heads: 1}] : []
  return videos
    .map((v, n) => ({model: attr(child(v, 'model'), 'type') ?? 'vga', heads: Number(attr(child(v, 'model'), 'heads') ?? 1), alias: `video${n}`}))
    .filter((v) => v.model !== 'none')
}

export async function screenshot(ctx: QemuContext, d: QemuDomain, screen: number, flags: number): Promise<Screenshot> {
  if (flags !== 0) throw unsupportedFlags(D, flags, 'qemuDomainScreenshot')
  const run = ctx.requireActive(d)
  const qmp = ctx.requireMonitor(run)
  const videos = screens(d)
  if (videos.length === 0) throw errors.operationInvalid(D, 'no screens to take screenshot from')
  let device: string | undefined
  let head = screen
  if (screen > 0) {
    const v = videos.find((x) => {
      if (head < x.heads) return true
      head -= x.heads
      return false
    })
    if (!v) throw errors.invalidArg(D, 'no such screen ID')
    device = v.alias
  }
  const dir = await mkdtemp(join(ctx.store.dirs.stateDir, 'qemu.screendump.'))
  const file = join(dir, 'screen.ppm')
  const cleanup = () => rmSync(dir, {recursive: true, force: true})
  try {
    await qmp.execute('screendump', {filename: file, ...(device !== undefined ? {device, head} : {})})
  } catch (err) {
    cleanup()
    throw err
  }
  return {mime: SCREENSHOT_MIME, data: createReadStream(file), cleanup}
}
