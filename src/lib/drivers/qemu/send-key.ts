/**
 * virDomainSendKey and virDomainInjectNMI of QEMU guests: key codes of any of libvirt's code sets
 * translated to QEMU's numbers (drivers/keycodes.ts) for `send-key`, and `inject-nmi`.
 */
import {ErrorCode, VirError, errors} from '../../errors.js'
import {CODESET_NAMES, KeycodeSet, toQnum} from '../../keycodes.js'
import {D, type QemuContext, type QemuDomain} from './context.js'

function checkNoFlags(flags: number, fn: string): void {
  if (flags) throw new VirError(ErrorCode.INVALID_ARG, D, `unsupported flags (0x${flags.toString(16)}) in function ${fn}`, {str1: fn})
}

export async function sendKey(ctx: QemuContext, d: QemuDomain, codeset: number, holdtime: number, keycodes: number[], flags: number): Promise<void> {
  checkNoFlags(flags, 'qemuDomainSendKey')
  const qnums = keycodes.map((k) => {
    const q = codeset === KeycodeSet.QNUM ? k : toQnum(codeset, k)
    if (q < 0) {
      throw errors.internal(D, `cannot translate keycode ${k} of ${CODESET_NAMES[codeset] ?? String(codeset)} codeset to qnum keycode`)
    }
    return q
  })
  await ctx.withJob(d, async () => {
    const qmp = ctx.requireMonitor(ctx.requireActive(d))
    const args: Record<string, unknown> = {keys: qnums.map((data) => ({type: 'number', data}))}
    if (holdtime > 0) args['hold-time'] = holdtime
    await qmp.execute('send-key', args)
  })
}

export async function injectNmi(ctx: QemuContext, d: QemuDomain, flags: number): Promise<void> {
  checkNoFlags(flags, 'qemuDomainInjectNMI')
  await ctx.withJob(d, async () => {
    await ctx.requireMonitor(ctx.requireActive(d)).execute('inject-nmi')
  })
}
