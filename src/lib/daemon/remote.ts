/**
 * The REMOTE program's server side: what each procedure does, in terms of the connection's
 * drivers. Codecs come from the program table; the handlers live in remote/, one file per API
 * family, and only map calls to driver methods (and keep per-connection event callbacks).
 */
import {HandlerTable, type ServedProgram} from '../rpc/server.js'
import {remote} from '../rpc/programs/remote.js'
import type {On, RemoteOptions} from './remote/context.js'
import {registerConnect} from './remote/connect.js'
import {registerDomains} from './remote/domain.js'
import {registerDomainNet} from './remote/domain-net.js'
import {registerStats} from './remote/stats.js'
import {registerTuning} from './remote/tuning.js'
import {registerNetworks} from './remote/network.js'
import {registerStorage} from './remote/storage.js'
import {registerSecrets} from './remote/secret.js'
import {registerInterfaces} from './remote/interface.js'
import {registerSnapshots} from './remote/snapshot.js'
import {registerSaves} from './remote/save.js'
import {registerEvents} from './remote/events.js'
import {registerConsole} from './remote/console.js'
import {registerGraphics} from './remote/graphics.js'
import {registerNodeDevices} from './remote/nodedev.js'
import {registerNwFilters} from './remote/nwfilter.js'
import {registerHost} from './remote/host.js'
import {unimplementedRemote} from './remote/unimplemented.js'
import {registerHotplug} from './remote/hotplug.js'
import {registerMigration} from './remote/migration.js'
import {registerAuthSasl} from './auth-sasl.js'

export {LIB_VERSION, type RemoteOptions} from './remote/context.js'
export {AuthType, CONNECT_RO} from './remote/connect.js'

export function createRemoteProgram(opts: RemoteOptions): ServedProgram {
  const handlers = new HandlerTable()
  const on: On = (def, fn) => {
    handlers.on(def, opts.gate ? opts.gate(def, fn) : fn)
  }
  registerConnect(on, opts)
  registerDomains(on)
  registerDomainNet(on)
  registerStats(on)
  registerTuning(on)
  registerNetworks(on)
  registerStorage(on)
  registerSecrets(on)
  registerInterfaces(on)
  registerSnapshots(on)
  registerSaves(on)
  registerEvents(on)
  registerConsole(on)
  registerGraphics(on)
  registerNodeDevices(on)
  registerNwFilters(on)
  registerHost(on)
  registerHotplug(on)
  registerMigration(on)
  if (opts.sasl) registerAuthSasl(on, {...opts.sasl, authType: opts.authType, isSecure: opts.isSecure})
  return {program: remote, handle: handlers.handle, unimplemented: unimplementedRemote}
}
