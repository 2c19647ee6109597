/**
 * A connection from one daemon to a sibling daemon (virtqemud -> virtnetworkd, -> virtnwfilterd):
 * opened on first use, opened again after it drops; a failed open is not kept.
 */
import {Connection} from './connection.js'

export class LazyConnection {
  private conn?: Promise<Connection>

  constructor(private readonly uri: string) {}

  /** Runs `fn` on the open connection. */
  async call<T>(fn: (c: Connection) => Promise<T>): Promise<T> {
    this.conn ??= Connection.open(this.uri)
    let c: Connection
    try {
      c = await this.conn
    } catch (err) {
      this.conn = undefined
      throw err
    }
    if (c.rpc.isClosed) {
      this.conn = undefined
      return this.call(fn)
    }
    return fn(c)
  }

  async close(): Promise<void> {
    const c = this.conn
    this.conn = undefined
    if (c) await (await c.catch(() => undefined))?.close()
  }
}
