/** What the network driver's files share: its objects, directories, tools and event emitter. */
import type {EventEmitter} from 'node:events'

import type {NetworkDef} from '../../conf/network.js'
import type {NetworkPortDef} from '../../conf/network-port.js'
import type {DriverDirs, LogSink} from '../types.js'

/** One network: its persistent definition and, while it runs, the live one. */
export interface NetObj {
  /** The persistent definition (undefined for a transient network). */
  config?: NetworkDef
  /** The running definition (undefined when inactive). */
  live?: NetworkDef
  autostart: boolean
  /** Ports (guest interfaces) plugged into the running network, by UUID. */
  ports: Map<string, NetworkPortDef>
  /** Set while a start or stop is under way, so two cannot overlap. */
  busy?: boolean
}

export interface NetworkDriverOptions {
  dirs: DriverDirs
  log: LogSink
  mode: 'system' | 'session'
  /**
   * Whether running networks may be created and autostarted. A daemon under a --root prefix in the
   * host's own network namespace (a developer's or a test's) keeps its hands off the host's network:
   * its networks are defined but never started unless it runs in a namespace of its own.
   */
  hostNetworkAllowed: boolean
}

export interface NetCtx {
  opts: NetworkDriverOptions
  nets: Map<string, NetObj>
  events: EventEmitter
}

export function defOf(n: NetObj): NetworkDef {
  const d = n.live ?? n.config
  if (!d) throw new Error('network object without a definition')
  return d
}

/** The bridge a running network's guests plug into. */
export function bridgeOf(def: NetworkDef): string {
  return def.bridge?.name ?? ''
}

/** Forward modes for which vctl creates and owns the bridge. */
export function managesBridge(def: NetworkDef): boolean {
  const m = def.forward?.mode
  return m === undefined || m === 'nat' || m === 'route' || m === 'open'
}
