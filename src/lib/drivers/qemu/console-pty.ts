/**
 * The daemon's hold on a guest's pty, kept from the first console session until the guest stops.
 *
 * QEMU notices a client on a `-chardev pty` only by polling once a second while none is there,
 * and drops the guest's output meanwhile: a console opened just after the previous one closed
 * would wait up to a second for its first byte (libvirtd's do). Keeping the pty's slave side open
 * keeps QEMU "connected"; while no session is attached the guest's output is read and dropped, as
 * QEMU drops it without a client, so the guest never blocks on its serial port.
 *
 * A session is a Duplex: guest output on its readable side (the pty is not read while the session
 * does not drain), its writes go to the guest. It ends (EOF) when the guest stops; another client's
 * FORCE destroys it with ConsoleTakenOver.
 */
import {closeSync, constants, fstatSync, openSync} from 'node:fs'
import {Duplex} from 'node:stream'
import tty from 'node:tty'

/** Raised on a console session when another client takes the console over. */
export class ConsoleTakenOver extends Error {
  constructor() {
    super('console taken over by another client')
  }
}

export class ConsoleSession extends Duplex {
  constructor(private readonly holder: PtyHolder) {
    super({allowHalfOpen: false})
  }

  override _read(): void {
    this.holder.resumeFor(this)
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.holder.write(chunk, cb)
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.holder.detach(this)
    cb(err)
  }
}

export class PtyHolder {
  private readonly tty: tty.ReadStream
  private session: ConsoleSession | undefined
  closed = false

  /** Opens the pty slave at `path`; throws the open error. */
  constructor(
    readonly path: string,
    private readonly onClosed: () => void,
  ) {
    const fd = openSync(path, constants.O_RDWR | constants.O_NOCTTY | constants.O_NONBLOCK)
    const rdev = fstatSync(fd).rdev
    this.tty = new tty.ReadStream(fd)
    // raw mode, as libvirt sets the pty before handing it out
    this.tty.setRawMode(true)
    this.tty.on('data', (d: Buffer) => {
      if (this.session && !this.session.push(d)) this.tty.pause()
    })
    // EIO once QEMU (the master side) is gone: the guest stopped
    this.tty.on('error', () => this.close())
    this.tty.on('close', () => {
      this.close()
      // libuv reopens a pty slave and works on its own descriptor: ours stays open until we close it
      try {
        if (fstatSync(fd).rdev === rdev) closeSync(fd)
      } catch {
        // closed already
      }
    })
    this.tty.resume()
  }

  /** The current session, if any. */
  get attached(): ConsoleSession | undefined {
    return this.session
  }

  /** A new session; the previous one, if any, must be gone. */
  attach(): ConsoleSession {
    const s = new ConsoleSession(this)
    this.session = s
    return s
  }

  resumeFor(s: ConsoleSession): void {
    if (this.session === s && !this.closed) this.tty.resume()
  }

  detach(s: ConsoleSession): void {
    if (this.session !== s) return
    this.session = undefined
    if (!this.closed) this.tty.resume() // back to dropping the output
  }

  write(chunk: Buffer, cb: (err?: Error | null) => void): void {
    if (this.closed) {
      cb(new Error('the guest console is closed'))
      return
    }
    this.tty.write(chunk, (err) => cb(err))
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    const s = this.session
    this.session = undefined
    s?.push(null)
    this.tty.destroy()
    this.onClosed()
  }
}
