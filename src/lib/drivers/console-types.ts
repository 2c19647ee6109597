/**
 * Stream-carrying hypervisor calls: a guest's console (virDomainOpenConsole) and a screenshot of
 * its display (virDomainScreenshot). The driver hands back Node streams; the daemon carries them
 * over an RPC stream (daemon/remote/console.ts).
 */
import type {Duplex, Readable} from 'node:stream'
import {ErrorCode, VirError} from '../errors.js'

/** virDomainConsoleFlags. */
export const ConsoleFlags = {FORCE: 1, SAFE: 2} as const

export interface GuestConsole {
  /** Bytes from and to the guest's character device; it ends when the guest stops. */
  stream: Duplex
}

export interface Screenshot {
  /** What the image is, e.g. image/x-portable-pixmap. */
  mime: string
  data: Readable
  /** Called once the image was sent (or the stream ended otherwise): removes temp files. */
  cleanup?: () => void
}

export interface ConsoleDriver {
  /**
   * Opens a guest's console (`devName` null: the first console, else the first serial port).
   * One client at a time per device: with ConsoleFlags.FORCE the previous client's stream is
   * destroyed with an error, else the call fails.
   */
  openConsole?(uuid: string, devName: string | null, flags: number): GuestConsole | Promise<GuestConsole>
  /** A screenshot of the guest's display `screen`. */
  screenshot?(uuid: string, screen: number, flags: number): Screenshot | Promise<Screenshot>
}

/** libvirt's virCheckFlags error: the message carries no "invalid argument" prefix. */
export function unsupportedFlags(domain: number, flags: number, fn: string): VirError {
  const msg = `unsupported flags (0x${flags.toString(16)}) in function ${fn}`
  return new VirError(ErrorCode.INVALID_ARG, domain, msg, {str1: '%s', str2: msg})
}
