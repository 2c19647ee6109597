/**
 * Tunnelled migration's local ends: QEMU migrates to / from a UNIX socket of ours, and the bytes
 * go through the RPC stream the daemon holds (a TunnelSink). The socket paths live in a private
 * temporary directory removed with the tunnel.
 */
import * as fs from 'node:fs'
import * as net from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import type {TunnelSink} from '../../migration-types.js'

/** A fresh socket path in a private directory; remove() takes both away. */
export function tunnelPath(): {path: string; remove: () => void} {
  const dir = fs.mkdtempSync(join(tmpdir(), 'vctl-mig-'))
  return {path: join(dir, 'stream.sock'), remove: () => fs.rmSync(dir, {recursive: true, force: true})}
}

/** Destination: a sink writing into QEMU's incoming socket (listening once migrate-incoming returned). */
export function socketSink(path: string): Promise<TunnelSink> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(path)
    sock.once('error', reject)
    sock.once('connect', () => {
      sock.off('error', reject)
      sock.on('error', () => undefined) // QEMU going away shows as the migration failing
      resolve({
        write: (b) =>
          new Promise<void>((res, rej) => {
            if (sock.destroyed) {
              rej(new Error('QEMU closed its incoming migration socket'))
              return
            }
            if (sock.write(b)) res()
            else sock.once('drain', () => res())
          }),
        finish: () => new Promise<void>((res) => sock.end(() => res())),
        abort: () => sock.destroy(),
      })
    })
  })
}

/** Source: a socket QEMU migrates to; what QEMU sends goes to `sink` in order. `done` resolves when QEMU closed it. */
export function tunnelSource(path: string, sink: TunnelSink): Promise<{done: Promise<void>; close: () => void}> {
  return new Promise((resolve, reject) => {
    let finished!: () => void
    let failed!: (e: Error) => void
    const done = new Promise<void>((res, rej) => {
      finished = res
      failed = rej
    })
    done.catch(() => undefined)
    const server = net.createServer((sock) => {
      server.close()
      sock.on('data', (chunk: Buffer) => {
        sock.pause()
        sink.write(chunk).then(
          () => sock.resume(),
          (err: unknown) => {
            sock.destroy()
            failed(err as Error)
          },
        )
      })
      // A paused socket emits 'end' only after the last chunk was written (resumed).
      sock.on('end', () => finished())
      sock.on('error', (err) => failed(err))
    })
    server.once('error', reject)
    server.listen(path, () => resolve({done, close: () => server.close()}))
  })
}
