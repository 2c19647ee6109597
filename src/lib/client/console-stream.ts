/**
 * A guest's console over an RPC stream (DOMAIN_OPEN_CONSOLE), as `virsh console` does: guest
 * output to `out`, `input` to the guest. Interactive use puts the terminal in raw mode and ends on
 * the escape character (Ctrl+] by default), like virsh.
 */
import type {Readable, Writable} from 'node:stream'
import type {DomainHandle} from '../rpc/programs/remote.js'
import {openStream, type ClientStream} from '../rpc/stream-client.js'
import {remote} from '../rpc/programs/remote.js'
import type {Connection} from './connection.js'

/** virDomainConsoleFlags. */
export const ConsoleFlags = {FORCE: 1, SAFE: 2} as const
/** Ctrl+], virsh's default escape. */
export const ESCAPE = 0x1d

export interface ConsoleOptions {
  devName?: string
  force?: boolean
  safe?: boolean
}

export async function openConsole(conn: Connection, dom: DomainHandle, opts: ConsoleOptions = {}): Promise<ClientStream> {
  const flags = (opts.force ? ConsoleFlags.FORCE : 0) | (opts.safe ? ConsoleFlags.SAFE : 0)
  const {stream} = await openStream(conn.rpc, remote, remote.procs.DOMAIN_OPEN_CONSOLE, {dom, dev_name: opts.devName ?? null, flags})
  return stream
}

/** How a console session ended. */
export type ConsoleEnd = 'escape' | 'eof' | 'input-end' | 'aborted'

/**
 * Runs a console session: guest output to `out` (waiting while `out` does not drain), `input` to
 * the guest. Ends on the escape byte in the input (when `escape` is set), at the guest's EOF, at
 * the end of `input` (with `closeOnInputEnd`), or when `signal` aborts; the stream is then
 * aborted, as virsh does when it leaves a console. A stream error (another client took the
 * console over) is thrown.
 */
export async function runConsole(
  st: ClientStream,
  io: {input: Readable; out: Writable; escape?: number; closeOnInputEnd?: boolean; signal?: AbortSignal},
): Promise<ConsoleEnd> {
  let end: ConsoleEnd | undefined
  let failure: Error | undefined
  let stop!: () => void
  const stopped = new Promise<void>((r) => (stop = r))
  const finish = (why: ConsoleEnd) => {
    end ??= why
    stop()
  }
  const onInput = (d: Buffer | string) => {
    let buf = typeof d === 'string' ? Buffer.from(d) : d
    const at = io.escape === undefined ? -1 : buf.indexOf(io.escape)
    if (at >= 0) buf = buf.subarray(0, at)
    if (buf.length > 0 && !st.finished) {
      io.input.pause()
      st.write(buf).then(
        () => io.input.resume(),
        () => finish('aborted'),
      )
    }
    if (at >= 0) finish('escape')
  }
  const onInputEnd = () => {
    if (io.closeOnInputEnd) finish('input-end')
  }
  io.input.on('data', onInput)
  io.input.on('end', onInputEnd)
  io.signal?.addEventListener('abort', () => finish('aborted'))
  const pump = (async () => {
    for await (const c of st) {
      if (!Buffer.isBuffer(c)) continue
      if (!io.out.write(c)) await new Promise((r) => io.out.once('drain', r))
      if (end) return
    }
    finish('eof')
  })().catch((err: unknown) => {
    failure = err instanceof Error ? err : new Error(String(err))
    finish('aborted')
  })
  await stopped
  io.input.off('data', onInput)
  io.input.off('end', onInputEnd)
  io.input.pause()
  if (!st.finished) await st.abort().catch(() => undefined)
  await pump
  if (failure !== undefined && end !== 'escape') throw failure
  return end ?? 'eof'
}
