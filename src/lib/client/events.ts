/** Subscribing to domain lifecycle events over a connection. */
import {remote, type DomainHandle} from '../rpc/programs/remote.js'
import type {Connection} from './connection.js'
import {eventBody} from '../rpc/client.js'
import {eventText} from './domains.js'

export interface LifecycleRecord {
  domain: string
  event: string
  detail: string
}

export async function watchDomainEvents(
  conn: Connection,
  dom: DomainHandle | null,
  opts: {timeoutMs?: number; loop?: boolean},
  onEvent: (e: LifecycleRecord) => void,
): Promise<LifecycleRecord[]> {
  const seen: LifecycleRecord[] = []
  const {callbackID} = await conn.call(remote.procs.CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY, {eventID: 0, handle: dom})
  await new Promise<void>((resolve) => {
    const timer = opts.timeoutMs ? setTimeout(resolve, opts.timeoutMs) : undefined
    conn.onEvent((e) => {
      const body = eventBody(e, remote.events.DOMAIN_EVENT_CALLBACK_LIFECYCLE)
      if (!body || body.callbackID !== callbackID) return
      const rec = {domain: body.dom.name, ...eventText(body.event, body.detail)}
      seen.push(rec)
      onEvent(rec)
      if (!opts.loop) {
        if (timer) clearTimeout(timer)
        resolve()
      }
    })
    process.once('SIGINT', () => resolve())
  })
  await conn.call(remote.procs.CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY, {callbackID})
  return seen
}
