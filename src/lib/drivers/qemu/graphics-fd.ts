/**
 * Connecting a client to a running guest's display without a TCP port (virDomainOpenGraphicsFD,
 * virDomainOpenGraphics): one end of a socket pair goes to QEMU over the monitor (QMP `getfd`, the
 * descriptor riding on the command's bytes), QEMU's display server takes it as a client
 * (`add_client`), and the other end goes back to the caller. virt-manager shows local guests so.
 */
import {ErrorCode, VirError, errors} from '../../errors.js'
import {closeFds, socketPair} from '../../os/fdpass.js'
import {OpenGraphicsFlags} from '../graphics-types.js'
import {D, type QemuContext} from './context.js'

/** The name the descriptor has in QEMU between `getfd` and `add_client` (libvirt's too). */
const FDNAME = 'graphicsfd'

function checkFlags(flags: number, fn: string): void {
  const extra = flags & ~OpenGraphicsFlags.SKIPAUTH
  if (!extra) return
  // virCheckFlags: the message has no prefix; str1 names the function, str2 the argument.
  throw new VirError(ErrorCode.INVALID_ARG, D, `unsupported flags (0x${extra.toString(16)}) in function ${fn}`, {str1: fn, str2: 'flags'})
}

/** The display protocol of graphics device `idx` of a running guest, as add_client names it. */
function protocolOf(ctx: QemuContext, uuid: string, idx: number): string {
  const dom = ctx.domains.get(uuid)
  ctx.requireActive(dom)
  const g = dom.live?.devices.graphics[idx]
  if (!g) throw errors.internal(D, `No graphics backend with index ${idx}`)
  if (g.type !== 'vnc' && g.type !== 'spice') throw errors.configUnsupported(D, `Can only open VNC or SPICE graphics backends, not ${g.type}`)
  return g.type
}

/** Hands `fd` (a copy of it) to QEMU as a new client of display `protocol`. */
async function addClient(ctx: QemuContext, uuid: string, idx: number, fd: number, flags: number): Promise<void> {
  const dom = ctx.domains.get(uuid)
  await ctx.withJob(dom, async () => {
    const protocol = protocolOf(ctx, uuid, idx)
    const qmp = ctx.requireMonitor(ctx.requireActive(dom))
    await qmp.executeWithFds('getfd', {fdname: FDNAME}, [fd])
    try {
      await qmp.execute('add_client', {protocol, fdname: FDNAME, skipauth: (flags & OpenGraphicsFlags.SKIPAUTH) !== 0})
    } catch (err) {
      await qmp.execute('closefd', {fdname: FDNAME}).catch(() => undefined)
      throw err
    }
  })
}

export async function openGraphicsFd(ctx: QemuContext, uuid: string, idx: number, flags: number): Promise<number> {
  checkFlags(flags, 'qemuDomainOpenGraphicsFD')
  protocolOf(ctx, uuid, idx)
  const [mine, theirs] = socketPair()
  try {
    await addClient(ctx, uuid, idx, theirs, flags)
  } catch (err) {
    closeFds([mine])
    throw err
  } finally {
    closeFds([theirs])
  }
  return mine
}

export async function openGraphics(ctx: QemuContext, uuid: string, idx: number, fd: number, flags: number): Promise<void> {
  checkFlags(flags, 'qemuDomainOpenGraphics')
  protocolOf(ctx, uuid, idx)
  await addClient(ctx, uuid, idx, fd, flags)
}
