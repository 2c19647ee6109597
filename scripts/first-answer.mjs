// A libvirt client's first calls on a daemon socket, timed: what the benchmarks measure (bench/harness.mjs
// re-exports it) and what scripts/daemon-code-cache.mjs makes a fresh daemon answer before it takes its
// code cache. Plain XDR by hand: no dependency on the project's code.
import {connect} from 'node:net'

const REMOTE = 0x20008086
const PROC = {CONNECT_OPEN: 1, CONNECT_GET_VERSION: 4, AUTH_LIST: 66}

function xdrString(s) {
  const b = Buffer.from(s)
  const out = Buffer.alloc(4 + b.length + ((4 - (b.length % 4)) % 4))
  out.writeUInt32BE(b.length, 0)
  b.copy(out, 4)
  return out
}

/** A CALL of the remote program: header (length, program, version 1, procedure, type 0, serial, status 0) and payload. */
function rpcCall(proc, serial, payload = Buffer.alloc(0)) {
  const h = Buffer.alloc(28)
  h.writeUInt32BE(28 + payload.length, 0)
  h.writeUInt32BE(REMOTE, 4)
  h.writeUInt32BE(1, 8)
  h.writeInt32BE(proc, 12)
  h.writeUInt32BE(0, 16)
  h.writeUInt32BE(serial, 20)
  h.writeUInt32BE(0, 24)
  return Buffer.concat([h, payload])
}

/**
 * connect() on a daemon socket, then the calls a client makes before its first real answer (AUTH_LIST,
 * CONNECT_OPEN `uri`, CONNECT_GET_VERSION), one after the other; resolves with the ms from just before
 * connect() to the last reply. Rejects on a socket error, after `timeoutMs` (when given), and on a failed
 * call unless `anyAnswer` (then an error reply counts as an answer).
 */
export function firstAnswer(path, uri, {timeoutMs, anyAnswer = false} = {}) {
  const calls = [
    rpcCall(PROC.AUTH_LIST, 0),
    rpcCall(PROC.CONNECT_OPEN, 1, Buffer.concat([Buffer.from([0, 0, 0, 1]), xdrString(uri), Buffer.alloc(4)])),
    rpcCall(PROC.CONNECT_GET_VERSION, 2),
  ]
  const t0 = performance.now()
  return new Promise((done, reject) => {
    const s = connect(path)
    let buf = Buffer.alloc(0)
    let next = 0
    const timer = timeoutMs
      ? setTimeout(() => (s.destroy(), reject(new Error(`no answer on ${path} within ${timeoutMs / 1000} s`))), timeoutMs)
      : undefined
    s.once('connect', () => s.write(calls[next++]))
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d])
      while (buf.length >= 4 && buf.length >= buf.readUInt32BE(0)) {
        const len = buf.readUInt32BE(0)
        const status = buf.readUInt32BE(24)
        buf = buf.subarray(len)
        if (status !== 0 && !anyAnswer) {
          clearTimeout(timer)
          s.destroy()
          reject(new Error(`call ${next - 1} failed`))
          return
        }
        if (next === calls.length) {
          clearTimeout(timer)
          s.destroy()
          done(performance.now() - t0)
          return
        }
        s.write(calls[next++])
      }
    })
    s.once('error', (err) => (clearTimeout(timer), s.destroy(), reject(err)))
  })
}
