/** The network-filter driver as a daemon sets it up: its directories, logger and IP learning. */
import {join} from 'node:path'

import type {DriverRegistry} from '../registry.js'
import type {LogSink, NetworkDriver} from '../types.js'
import type {NwFilterDriver} from '../nwfilter-types.js'
import {NwFilterDriverImpl} from './driver.js'
import {leaseLearner} from './learn.js'
import type {IpLearner} from './bindings.js'

export interface NwFilterHost {
  paths: {configDir: string; runDir: string}
  log: LogSink
  registry: Pick<DriverRegistry, 'network'>
}

/**
 * Creates the driver (re-applying the bindings of guests still running) and returns its registry
 * entry. IP addresses are learned with `learnIp`, by default from the daemon's own network driver.
 */
export async function setupNwFilterDriver(d: NwFilterHost, learnIp?: IpLearner): Promise<() => NwFilterDriver> {
  const network = async (): Promise<NetworkDriver | undefined> => d.registry.network?.()
  const driver = await NwFilterDriverImpl.create({
    configDir: join(d.paths.configDir, 'nwfilter'),
    bindingDir: join(d.paths.runDir, 'nwfilter-binding'),
    log: d.log,
    learnIp: learnIp ?? leaseLearner(network),
  })
  return () => driver
}
