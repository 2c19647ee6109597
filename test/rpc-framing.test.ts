// FrameDecoder: packets come out whole and in order however the stream is cut, can be taken one
// at a time (the server stops taking while a client is throttled), and bad lengths throw.
import test from 'ava'
import {randomBytes} from 'node:crypto'
import {FrameDecoder, FrameError, type Packet} from '../src/lib/rpc/message.js'

function packet(serial: number, payload: number): Buffer {
  const b = Buffer.alloc(28 + payload)
  b.writeUInt32BE(b.length, 0)
  b.writeUInt32BE(0x20008086, 4)
  b.writeUInt32BE(1, 8)
  b.writeInt32BE(4, 12)
  b.writeUInt32BE(serial, 20)
  randomBytes(payload).copy(b, 28)
  return b
}

test('packets survive any cut of the stream', (t) => {
  const packets = Array.from({length: 200}, (_, i) => packet(i, (i * 37) % 300))
  const stream = Buffer.concat(packets)
  for (let trial = 0; trial < 50; trial++) {
    const dec = new FrameDecoder()
    const out: Packet[] = []
    let off = 0
    while (off < stream.length) {
      const n = 1 + Math.floor(Math.random() * 700)
      dec.push(stream.subarray(off, off + n), (p) => out.push(p))
      off += n
    }
    t.is(out.length, packets.length)
    t.true(out.every((p, i) => p.serial === i && p.buf.equals(packets[i])))
    t.is(dec.pending(), 0)
  }
})

test('a 4 MiB packet in 4 KiB chunks, then packets taken one at a time', (t) => {
  const big = packet(7, 4 * 1024 * 1024)
  const small = [packet(8, 0), packet(9, 10)]
  const dec = new FrameDecoder()
  for (let off = 0; off < big.length; off += 4096) {
    dec.append(big.subarray(off, off + 4096))
    if (off + 4096 < big.length) t.is(dec.take(), undefined)
  }
  for (const s of small) dec.append(s)
  t.is(dec.pending(), big.length + 28 + 38)
  t.true(dec.take()?.buf.equals(big))
  t.is(dec.take()?.serial, 8)
  t.is(dec.pending(), 38)
  t.is(dec.take()?.serial, 9)
  t.is(dec.take(), undefined)
})

test('large packets (assembled in a buffer of their own) survive any cut, mixed with small ones', (t) => {
  const packets = Array.from({length: 24}, (_, i) => packet(i, i % 3 === 0 ? 40 : 65536 + ((i * 7919) % 200000)))
  const stream = Buffer.concat(packets)
  for (let trial = 0; trial < 20; trial++) {
    const dec = new FrameDecoder()
    const out: Packet[] = []
    let off = 0
    while (off < stream.length) {
      const n = 1 + Math.floor(Math.random() * (trial % 2 ? 300000 : 5000))
      dec.push(stream.subarray(off, off + n), (p) => out.push(p))
      off += n
    }
    t.is(out.length, packets.length)
    t.true(out.every((p, i) => p.serial === i && p.buf.equals(packets[i])))
    t.is(dec.pending(), 0)
  }
})

test('into(): the rest of a large packet is read in place, without a copy, and what follows it is kept', (t) => {
  const big = packet(3, 200000)
  const next = packet(4, 12)
  const dec = new FrameDecoder()
  t.is(dec.into(10), undefined)
  dec.append(big.subarray(0, 100))
  t.is(dec.take(), undefined) // the length is known: the assembly starts
  t.is(dec.into(big.length - 50), undefined) // only the exact rest is offered
  const into = dec.into(big.length - 100)
  if (!into) return t.fail('no in-place buffer offered')
  big.copy(into, 0, 100, 150000)
  dec.append(into.subarray(0, 150000 - 100))
  t.is(dec.take(), undefined)
  const rest = dec.into(big.length - 150000)
  if (!rest) return t.fail('no in-place buffer for the rest')
  big.copy(rest, 0, 150000)
  dec.append(rest)
  dec.append(next)
  const p = dec.take()
  t.true(p?.buf.equals(big))
  t.is(p?.buf.buffer, into.buffer) // the very buffer that was read into
  t.is(dec.take()?.serial, 4)
  t.is(dec.pending(), 0)
})

test('a length word outside the limits throws FrameError', (t) => {
  const dec = new FrameDecoder()
  const b = Buffer.alloc(8)
  b.writeUInt32BE(12, 0)
  dec.append(b)
  t.throws(() => dec.take(), {instanceOf: FrameError})
})
