/**
 * Writes that bypass the page cache (O_DIRECT) for uploads into a new file.
 *
 * An upload from offset 0 goes to a new hidden file (see transfer.ts). Buffered writes into a new
 * file cost a fresh page-cache page per 4 KiB, dirty-page throttling, and the old volume's pages
 * dropped at the rename: measured here, 1 GiB took 1 to 4 s that way, 0.5 to 0.7 s with O_DIRECT.
 * O_DIRECT needs the memory, the file offset and the length aligned: the bytes are copied into an
 * aligned staging buffer (a WebAssembly memory, whose base is page aligned), and whatever is not
 * aligned (a batch after an odd hole, the last bytes of an upload) goes through the ordinary
 * buffered handle. A failed direct write (a filesystem or buffer that O_DIRECT does not accept)
 * turns the direct path off and is redone buffered.
 */
import {constants} from 'node:fs'
import * as fsp from 'node:fs/promises'
import type {FileHandle} from 'node:fs/promises'

/** Alignment of offsets, lengths and memory for O_DIRECT (a page: enough for any logical block size). */
export const DIRECT_ALIGN = 4096
const WASM_PAGE = 65536

/** Memory whose first byte is page aligned (a WebAssembly memory's base is). */
function alignedBuffer(size: number): Buffer {
  return Buffer.from(new WebAssembly.Memory({initial: Math.ceil(size / WASM_PAGE)}).buffer)
}

export class DirectWriter {
  /** Staging buffers not in use (one per write in flight, made as needed, kept for the next). */
  private readonly free: Buffer[] = []

  private constructor(
    private fh: FileHandle | undefined,
    private readonly size: number,
  ) {}

  /** A direct handle on `path` with a staging buffer of `size` bytes, or undefined where O_DIRECT cannot be used. */
  static async open(path: string, size: number): Promise<DirectWriter | undefined> {
    const direct = (constants as {O_DIRECT?: number}).O_DIRECT
    if (direct === undefined) return undefined
    try {
      return new DirectWriter(await fsp.open(path, constants.O_WRONLY | direct), size)
    } catch {
      return undefined
    }
  }

  /**
   * Writes `bufs` (`n` bytes in all) at `at`; its aligned part directly, the rest through `fallback`.
   * Writes may run side by side (on disjoint ranges), each through a staging buffer of its own.
   */
  async write(bufs: Buffer[], n: number, at: number, fallback: FileHandle): Promise<void> {
    const aligned = this.fh && at % DIRECT_ALIGN === 0 ? n - (n % DIRECT_ALIGN) : 0
    let done = 0
    if (aligned > 0) {
      let stage = this.free.pop() ?? alignedBuffer(Math.max(this.size, aligned))
      if (stage.length < aligned) stage = alignedBuffer(aligned)
      let off = 0
      for (const b of bufs) {
        if (off >= aligned) break
        off += b.copy(stage, off, 0, Math.min(b.length, aligned - off))
      }
      try {
        await this.writeAll(stage.subarray(0, aligned), at)
        done = aligned
      } catch {
        await this.close() // not for O_DIRECT after all: everything buffered from now on
      } finally {
        this.free.push(stage)
      }
    }
    if (done === n) return
    const rest: Buffer[] = []
    let skip = done
    for (const b of bufs) {
      if (skip >= b.length) {
        skip -= b.length
        continue
      }
      rest.push(skip > 0 ? b.subarray(skip) : b)
      skip = 0
    }
    await writevAll(fallback, rest, at + done)
  }

  private async writeAll(buf: Buffer, at: number): Promise<void> {
    for (let off = 0; off < buf.length;) {
      if (!this.fh) throw new Error('direct handle closed')
      const {bytesWritten} = await this.fh.write(buf, off, buf.length - off, at + off)
      if (bytesWritten === 0 || bytesWritten % DIRECT_ALIGN !== 0) throw new Error('short direct write')
      off += bytesWritten
    }
  }

  async close(): Promise<void> {
    const fh = this.fh
    this.fh = undefined
    await fh?.close().catch(() => {})
  }
}

/** writev until every byte is written (a short write goes on where it stopped). */
export async function writevAll(fh: FileHandle, bufs: Buffer[], at: number): Promise<void> {
  let left = bufs
  let pos = at
  while (left.length > 0) {
    let {bytesWritten} = await fh.writev(left, pos)
    if (bytesWritten === 0) throw Object.assign(new Error('no progress writing'), {code: 'EIO'})
    pos += bytesWritten
    const next: Buffer[] = []
    for (const b of left) {
      if (bytesWritten >= b.length) {
        bytesWritten -= b.length
        continue
      }
      next.push(bytesWritten > 0 ? b.subarray(bytesWritten) : b)
      bytesWritten = 0
    }
    left = next
  }
}
