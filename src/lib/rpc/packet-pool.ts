/**
 * Reusable buffers for large received packets (stream data: 256 KiB each from libvirt's clients).
 *
 * Receiving a GiB in fresh 256 KiB buffers costs a page fault per 4 KiB and a major garbage
 * collection every few tens of MiB (V8 counts the buffers as external memory); an upload then spends
 * more time there than copying. FrameDecoder takes the buffer of a packet it assembles from here,
 * and whoever consumes the packet's bytes may give the buffer back once nothing refers to it any
 * more (stream.ts passes a `release` with each data chunk; a consumer that does not call it leaves
 * the buffer to the garbage collector, as before). At most POOL_BYTES are kept.
 */

/** Bytes of free buffers kept for reuse (more than a stream's queue holds: see drivers/storage/upload.ts). */
const POOL_BYTES = 48 << 20

/** Free buffers, by length. */
const free = new Map<number, Buffer[]>()
let freeBytes = 0
/** The memory this pool handed out; only these are taken back, each once. */
const issued = new WeakSet<ArrayBuffer>()
const pooled = new WeakSet<ArrayBuffer>()

/** A buffer of exactly `len` bytes (uninitialised), reused when one is free. */
export function takePacketBuffer(len: number): Buffer {
  const b = free.get(len)?.pop()
  if (b) {
    freeBytes -= len
    if (b.buffer instanceof ArrayBuffer) pooled.delete(b.buffer)
    return b
  }
  const fresh = Buffer.allocUnsafeSlow(len)
  if (fresh.buffer instanceof ArrayBuffer) issued.add(fresh.buffer)
  return fresh
}

/**
 * Gives back a buffer from takePacketBuffer (or any view of it): nobody may read or write it after
 * this. Buffers of other origin, and a second release of the same, are ignored.
 */
export function releasePacketBuffer(view: Buffer): void {
  const ab = view.buffer
  if (!(ab instanceof ArrayBuffer) || !issued.has(ab) || pooled.has(ab)) return
  if (freeBytes + ab.byteLength > POOL_BYTES) return
  pooled.add(ab)
  freeBytes += ab.byteLength
  const list = free.get(ab.byteLength) ?? []
  list.push(Buffer.from(ab))
  free.set(ab.byteLength, list)
}

/** Bytes held for reuse (tests). */
export function pooledBytes(): number {
  return freeBytes
}
