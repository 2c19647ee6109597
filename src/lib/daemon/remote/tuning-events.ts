/** Delivery of the tuning calls' domain events (TUNABLE, METADATA_CHANGE) to a connection's callbacks. */
import type {EventEmitter} from 'node:events'
import {remote} from '../../rpc/programs/remote.js'
import type {RpcConnection} from '../../rpc/server.js'
import {TUNING_EVENT, type TuningEventMsg} from '../../drivers/tuning-types.js'
import {st, toDom} from './context.js'
import {paramToWire} from './typed-params.js'

/** virDomainEventID of the two events. */
const DOMAIN_EVENT_ID_TUNABLE = 17
const DOMAIN_EVENT_ID_METADATA_CHANGE = 23

/** Listens to `source` for this connection; returns the function that stops listening. */
export function subscribeTuningEvents(conn: RpcConnection, source: EventEmitter): () => void {
  const listener = (m: TuningEventMsg) => {
    for (const [id, cb] of st(conn).callbacks) {
      if (cb.kind !== 'domain' || (cb.uuid && cb.uuid !== m.dom.uuid)) continue
      if (m.kind === 'tunable' && cb.eventID === DOMAIN_EVENT_ID_TUNABLE) {
        conn.sendEvent(remote, remote.events.DOMAIN_EVENT_CALLBACK_TUNABLE, {callbackID: id, dom: toDom(m.dom), params: m.params.map(paramToWire)})
      } else if (m.kind === 'metadata-change' && cb.eventID === DOMAIN_EVENT_ID_METADATA_CHANGE) {
        conn.sendEvent(remote, remote.events.DOMAIN_EVENT_CALLBACK_METADATA_CHANGE, {callbackID: id, dom: toDom(m.dom), type: m.type, nsuri: m.nsuri})
      }
    }
  }
  source.on(TUNING_EVENT, listener)
  return () => source.off(TUNING_EVENT, listener)
}
