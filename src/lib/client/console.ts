/**
 * A guest's console from the client: a pty console goes over an RPC stream (DOMAIN_OPEN_CONSOLE,
 * what `virsh console` uses, local or remote); a file-backed serial port (a log on the daemon's
 * host) is read and followed like `tail -f`.
 */
import {existsSync, openSync, readSync, closeSync, statSync} from 'node:fs'
import type {DomainHandle} from '../rpc/programs/remote.js'
import {parseDomainXml} from '../conf/domain.js'
import type {Connection} from './connection.js'
import {ErrorCode, ErrorDomain, VirError} from '../errors.js'
import {domainXml} from './domains.js'

/** How often a console log file is checked for new output. */
const FOLLOW_POLL_MS = 100
const READ_CHUNK = 65536

/** The console a domain shows: its first console, else its first serial port (as the daemon picks it). */
export async function consoleSource(conn: Connection, dom: DomainHandle): Promise<{type: string; path: string}> {
  const xml = await domainXml(conn, dom)
  const def = parseDomainXml(xml)
  const first = def.devices.consoles[0] ?? def.devices.serials[0]
  if (first?.type === 'pty') return {type: 'pty', path: first.path ?? ''}
  const chr = [...def.devices.consoles, ...def.devices.serials].find((c) => c.path && (c.type === 'file' || c.type === 'pty'))
  if (!chr?.path)
    throw new VirError(
      ErrorCode.OPERATION_INVALID,
      ErrorDomain.DOMAIN,
      `Requested operation is not valid: domain '${dom.name}' has no serial console backed by a file or pty`,
    )
  return {type: chr.type, path: chr.path}
}

/** Writes a file console's content to `out`; with follow, keeps going until `signal` aborts. */
export async function followConsole(
  src: {type: string; path: string},
  out: NodeJS.WritableStream,
  follow: boolean,
  signal: AbortSignal,
): Promise<void> {
  if (!existsSync(src.path))
    throw new VirError(ErrorCode.OPERATION_FAILED, ErrorDomain.DOMAIN, `operation failed: console log ${src.path} does not exist`)
  let pos = 0
  const buf = Buffer.alloc(READ_CHUNK)
  for (;;) {
    const size = statSync(src.path).size
    if (size < pos) pos = 0 // truncated by a restart
    if (size > pos) {
      const fd = openSync(src.path, 'r')
      try {
        let n
        while ((n = readSync(fd, buf, 0, buf.length, pos)) > 0) {
          out.write(buf.subarray(0, n))
          pos += n
        }
      } finally {
        closeSync(fd)
      }
    }
    if (!follow || signal.aborted) return
    await new Promise((r) => setTimeout(r, FOLLOW_POLL_MS))
  }
}
