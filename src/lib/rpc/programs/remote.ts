/**
 * The REMOTE program (0x20008086 v1): the procedures vctl serves, written from the protocol's
 * published facts (numbers, layouts). One table per API family under remote/, each in number order
 * (tested); a procedure lives in its family's file. A libvirt 9.0 procedure absent here gets libvirtd's
 * "not supported" error (remote/all-procs.ts lists them all); other numbers get "unknown procedure".
 */
import {defineProgram} from '../program.js'
import {connectProcs} from './remote/connect.js'
import {authSaslProcs} from './remote/auth-sasl.js'
import {domainProcs} from './remote/domain.js'
import {domainNetProcs} from './remote/domain-net.js'
import {domainSaveProcs} from './remote/domain-save.js'
import {domainStatsProcs} from './remote/domain-stats.js'
import {domainTuningProcs} from './remote/domain-tuning.js'
import {networkProcs} from './remote/network.js'
import {storageProcs} from './remote/storage.js'
import {volumeProcs} from './remote/volume.js'
import {secretProcs} from './remote/secret.js'
import {interfaceProcs} from './remote/interface.js'
import {snapshotProcs} from './remote/snapshot.js'
import {nodedevProcs} from './remote/nodedev.js'
import {nwfilterProcs} from './remote/nwfilter.js'
import {hostProcs} from './remote/host.js'
import {migrationProcs} from './remote/migration.js'
import {remoteEvents} from './remote/events.js'
import {hotplugProcs} from './remote/domain-hotplug.js'
import {legacyEventProcs} from './remote/events-legacy.js'

export {domainHandle, networkHandle, poolHandle, volHandle, secretHandle} from './remote/types.js'
export type {DomainHandle, NetworkHandle, PoolHandle, VolHandle, SecretHandle} from './remote/types.js'
export {snapshotHandle, type SnapshotHandle} from './remote/snapshot.js'
export {nodeDeviceHandle, type NodeDeviceHandle} from './remote/nodedev.js'
export {nwfilterHandle, nwfilterBindingHandle, type NwFilterHandle, type NwFilterBindingHandle} from './remote/nwfilter.js'

export const REMOTE_PROGRAM = 0x20008086
export const REMOTE_VERSION = 1

/** The family tables, for the test that keeps each in number order. */
export const remoteFamilies = {
  connectProcs,
  authSaslProcs,
  domainProcs,
  domainNetProcs,
  domainSaveProcs,
  domainStatsProcs,
  domainTuningProcs,
  networkProcs,
  storageProcs,
  volumeProcs,
  secretProcs,
  snapshotProcs,
  interfaceProcs,
  nodedevProcs,
  nwfilterProcs,
  hostProcs,
  hotplugProcs,
  migrationProcs,
  legacyEventProcs,
}

export const remote = defineProgram(
  'REMOTE',
  REMOTE_PROGRAM,
  REMOTE_VERSION,
  {
    ...connectProcs,
    ...authSaslProcs,
    ...domainProcs,
    ...domainNetProcs,
    ...domainSaveProcs,
    ...domainStatsProcs,
    ...domainTuningProcs,
    ...networkProcs,
    ...storageProcs,
    ...volumeProcs,
    ...secretProcs,
    ...snapshotProcs,
    ...interfaceProcs,
    ...nodedevProcs,
    ...nwfilterProcs,
    ...hostProcs,
    ...hotplugProcs,
    ...migrationProcs,
    ...legacyEventProcs,
  },
  remoteEvents,
)

/** Domain event IDs (virDomainEventID) and the MESSAGE procedure each is delivered with. */
export const DomainEventId = {LIFECYCLE: 0, REBOOT: 1} as const
export const DOMAIN_EVENT_ID_MAX = 27

/** Connection features (virDrvFeature) clients query with CONNECT_SUPPORTS_FEATURE. */
export const Feature = {
  FD_PASSING: 8,
  TYPED_PARAM_STRING: 9,
  PROGRAM_KEEPALIVE: 10,
  REMOTE_EVENT_CALLBACK: 14,
  REMOTE_CLOSE_CALLBACK: 15,
  NETWORK_UPDATE_HAS_CORRECT_ORDER: 16,
} as const
