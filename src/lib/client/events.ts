/** Subscribing to domain lifecycle events over a connection. */
import {DomainEventId, remote, type DomainHandle} from '../rpc/programs/remote.js'
import {eventBody} from '../rpc/client.js'
import type {Connection} from './connection.js'
import {eventText} from './domain-names.js'

export interface LifecycleRecord {
  domain: string
  event: string
  detail: string
}

/** Reports lifecycle events until the first one (or, with `loop`, until the timeout or SIGINT). */
export async function watchDomainEvents(
  conn: Connection,
  dom: DomainHandle | null,
  opts: {timeoutMs?: number; loop?: boolean},
  onEvent: (e: LifecycleRecord) => void,
): Promise<LifecycleRecord[]> {
  const seen: LifecycleRecord[] = []
  const {callbackID} = await conn.call(remote.procs.CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY, {eventID: DomainEventId.LIFECYCLE, handle: dom})
  await new Promise<void>((resolve) => {
    const timer = opts.timeoutMs ? setTimeout(resolve, opts.timeoutMs) : undefined
    conn.onEvent((e) => {
      const body = eventBody(e, remote.events.DOMAIN_EVENT_CALLBACK_LIFECYCLE)
      if (body?.callbackID !== callbackID) return
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
