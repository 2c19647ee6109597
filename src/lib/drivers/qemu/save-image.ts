/**
 * libvirt's QEMU save image format, so that a file saved by vctl and one saved by libvirtd can be
 * recognised by the other: a 92-byte header (magic "LibvirtQemudSave", or "LibvirtQemudPart"
 * while the file is being written; version 2; the length of the data that follows; whether the
 * guest was running; the compression format, 0 = raw; the offset of a cookie; 14 unused words, all
 * in host byte order), then the domain XML with its NUL, zero padding (64 KiB, so the XML can be
 * edited in place), and QEMU's migration stream to the end of the file.
 */
import * as fs from 'node:fs'
import {ErrorCode, ErrorDomain, VirError, errors} from '../../errors.js'
import {D} from './context.js'

export const SAVE_MAGIC = 'LibvirtQemudSave'
export const SAVE_PARTIAL = 'LibvirtQemudPart'
export const SAVE_VERSION = 2
export const HEADER_LEN = 16 + 19 * 4
const PADDING = 64 * 1024

export interface SaveImage {
  xml: string
  wasRunning: boolean
  /** Bytes of XML (+ cookie) and padding after the header. */
  dataLen: number
  /** Where QEMU's migration stream starts. */
  streamOffset: number
}

function header(magic: string, dataLen: number, wasRunning: boolean, cookieOffset = 0): Buffer {
  const b = Buffer.alloc(HEADER_LEN)
  b.write(magic, 0, 'latin1')
  b.writeUInt32LE(SAVE_VERSION, 16)
  b.writeUInt32LE(dataLen, 20)
  b.writeUInt32LE(wasRunning ? 1 : 0, 24)
  b.writeUInt32LE(0, 28)
  b.writeUInt32LE(cookieOffset, 32)
  return b
}

/** The header and data of a new image (magic "partial" until markComplete). */
export function encodeSaveData(xml: string, wasRunning: boolean): Buffer {
  const body = Buffer.from(`${xml}\0`)
  const dataLen = body.length + PADDING
  return Buffer.concat([header(SAVE_PARTIAL, dataLen, wasRunning), body, Buffer.alloc(PADDING)])
}

/** Marks a fully written image as complete (the magic at offset 0). */
export function markComplete(fd: number): void {
  fs.writeSync(fd, Buffer.from(SAVE_MAGIC, 'latin1'), 0, 16, 0)
}

const failed = (detail: string): VirError => errors.operationFailed(D, detail)

/** Opens a save image for reading (libvirt's error when it cannot be). */
export function openSaveImage(path: string, write = false): number {
  try {
    return fs.openSync(path, write ? 'r+' : 'r')
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    const text = e.code === 'ENOENT' ? 'No such file or directory' : e.code === 'EACCES' ? 'Permission denied' : e.message
    const detail = `Failed to open file '${path}': ${text}`
    throw new VirError(ErrorCode.SYSTEM_ERROR, ErrorDomain.QEMU, detail, {str1: '%s', str2: detail})
  }
}

/** Reads exactly `len` bytes from the file's current offset (fewer at the end of the file). */
function readSeq(fd: number, len: number): Buffer {
  const b = Buffer.alloc(len)
  let got = 0
  while (got < len) {
    const n = fs.readSync(fd, b, got, len - got, null)
    if (n === 0) break
    got += n
  }
  return b.subarray(0, got)
}

/**
 * Reads the header and XML from `fd`, leaving its offset where the migration stream starts.
 * Errors are libvirt's: "failed to read qemu header", "image magic is incorrect", "save image is
 * incomplete", "image version is not supported", "failed to read domain XML".
 */
export function readSaveImage(fd: number): SaveImage {
  const h = readSeq(fd, HEADER_LEN)
  if (h.length < HEADER_LEN) throw failed('failed to read qemu header')
  const magic = h.toString('latin1', 0, 16)
  if (magic !== SAVE_MAGIC) {
    if (magic === SAVE_PARTIAL) throw failed('save image is incomplete')
    throw failed('image magic is incorrect')
  }
  let version = h.readUInt32LE(16)
  const swapped = version > SAVE_VERSION && h.readUInt32BE(16) <= SAVE_VERSION
  const word = (off: number) => (swapped ? h.readUInt32BE(off) : h.readUInt32LE(off))
  version = word(16)
  if (version > SAVE_VERSION) throw failed(`image version is not supported (${version} > ${SAVE_VERSION})`)
  const dataLen = word(20)
  if (dataLen <= 0 || dataLen > 1 << 30) throw failed(`invalid header data length: ${dataLen}`)
  const compressed = word(28)
  if (compressed !== 0) throw errors.operationFailed(D, `image format ${compressed} is not supported by this daemon`)
  const data = readSeq(fd, dataLen)
  if (data.length < dataLen) throw failed('failed to read domain XML')
  const cookieOffset = word(32)
  const end = data.indexOf(0)
  const xmlEnd = cookieOffset > 0 && cookieOffset <= dataLen ? Math.min(cookieOffset - 1, end < 0 ? dataLen : end) : end < 0 ? dataLen : end
  return {xml: data.toString('utf8', 0, xmlEnd), wasRunning: word(24) !== 0, dataLen, streamOffset: HEADER_LEN + dataLen}
}

/** Reads the image at `path` (header and XML only). */
export function readSaveImageFile(path: string): SaveImage {
  const fd = openSaveImage(path)
  try {
    return readSaveImage(fd)
  } finally {
    fs.closeSync(fd)
  }
}

/** Rewrites the XML (and was_running) of a complete image in place; it must fit the data area. */
export function rewriteSaveImage(path: string, img: SaveImage, xml: string, wasRunning: boolean): void {
  const body = Buffer.from(`${xml}\0`)
  if (body.length > img.dataLen) throw failed('new xml too large to fit in file')
  const fd = openSaveImage(path, true)
  try {
    const data = Buffer.concat([header(SAVE_MAGIC, img.dataLen, wasRunning), body, Buffer.alloc(img.dataLen - body.length)])
    fs.writeSync(fd, data, 0, data.length, 0)
    fs.fsyncSync(fd)
  } finally {
    fs.closeSync(fd)
  }
}
