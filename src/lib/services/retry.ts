/**
 * Client side of virtlogd / virtlockd calls: one short connection per operation, retried while
 * the daemon is unreachable or drops the connection — which is what a client sees while the
 * daemon re-executes (a refused or reset connection, or EOF on a call the old process left
 * waiting). Errors the daemon answers with are not retried.
 *
 * Shared by the clients of virtlogd and virtlockd (services/log/client.ts, services/lock/client.ts).
 */
import {RpcClient} from '../rpc/client.js'

export interface RetryOptions {
  /** Give up on a daemon that cannot be reached at all after this long (default 3 s). */
  connectTimeoutMs?: number
  /** Give up after this long overall (default 15 s). */
  timeoutMs?: number
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Runs `fn` on a fresh connection to `sockPath`, again on a new connection when the transport fails. */
export async function withDaemon<T>(
  sockPath: string,
  programs: Parameters<typeof RpcClient.connect>[1],
  fn: (c: RpcClient) => Promise<T>,
  opts: RetryOptions = {},
): Promise<T> {
  const start = Date.now()
  const connectDeadline = start + (opts.connectTimeoutMs ?? 3000)
  const deadline = start + (opts.timeoutMs ?? 15000)
  let delay = 10
  let connectedOnce = false
  for (;;) {
    let client: RpcClient
    try {
      client = await RpcClient.connect({path: sockPath}, programs)
    } catch (err) {
      // Once a daemon answered, a refusal is most likely a re-exec in progress: wait longer.
      if (Date.now() > (connectedOnce ? deadline : connectDeadline)) throw err
      await sleep(delay)
      delay = Math.min(delay * 2, 250)
      continue
    }
    connectedOnce = true
    try {
      return await fn(client)
    } catch (err) {
      // A reply with an error leaves the connection open; a transport failure closes it.
      if (!client.isClosed || Date.now() > deadline) throw err
      await sleep(delay)
      delay = Math.min(delay * 2, 250)
    } finally {
      client.destroy()
    }
  }
}
