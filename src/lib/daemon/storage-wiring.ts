/**
 * The storage driver in a daemon: created (with the `default` pool of a system-mode daemon) for
 * libvirtd and virtstoraged, and the StorageVolumes the QEMU driver resolves `<disk type='volume'>`
 * through: the storage driver itself in libvirtd, virtstoraged over the RPC protocol in virtqemud.
 */
import type {DriverRegistry} from '../drivers/registry.js'
import type {HypervisorDriver, LogSink} from '../drivers/types.js'
import type {StorageVolumes} from '../drivers/storage-vol-types.js'
import type {StorageDriverImpl} from '../drivers/storage/driver.js'
import {daemonPaths, driverStateDirs, type DaemonPaths} from './paths.js'

/** What the wiring needs of a daemon. */
export interface StorageHost {
  readonly paths: DaemonPaths
  readonly log: LogSink
  readonly registry: DriverRegistry
}

const storageOf = new WeakMap<StorageHost, StorageDriverImpl>()

export async function setupStorage(d: StorageHost): Promise<void> {
  const {createStorageDriver} = await import('../drivers/storage/driver.js')
  const dirs = driverStateDirs(d.paths, 'storage')
  // System mode defines the `default` pool on a blank config, as virt-manager and virt-install expect.
  const defaultPoolPath = d.paths.mode === 'system' ? `${d.paths.stateDir}/images` : undefined
  const storage = await createStorageDriver({...dirs, log: d.log, defaultPoolPath})
  d.registry.storage = () => storage
  storageOf.set(d, storage)
}

/** The volumes the QEMU driver resolves: in process in libvirtd, virtstoraged's over RPC in virtqemud. */
export async function volumesFor(d: StorageHost): Promise<StorageVolumes> {
  const local = storageOf.get(d)
  if (local) return local
  const {remoteStorageVolumes} = await import('../client/storage.js')
  const sock = daemonPaths({daemon: 'virtstoraged', mode: d.paths.mode, root: d.paths.root}).sockRw
  return remoteStorageVolumes(sock, `storage:///${d.paths.mode}`)
}

/** Lets the storage driver refuse to delete a volume a running guest has as a disk. */
export function linkGuestsToStorage(d: StorageHost, qemu: HypervisorDriver): void {
  const storage = storageOf.get(d)
  if (!storage) return
  storage.inUseByGuest = (path) => qemu.listDomains(1).some((ref) => qemu.getXMLDesc(ref.uuid, 0).includes(`'${path}'`))
}
