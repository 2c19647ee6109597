/**
 * The storage driver in a daemon: created (with the `default` pool of a system-mode daemon) for
 * libvirtd and virtstoraged, and the StorageVolumes the QEMU driver resolves `<disk type='volume'>`
 * through: the storage driver itself in libvirtd, virtstoraged over the RPC protocol in virtqemud.
 */
import type {DriverRegistry} from '../drivers/registry.js'
import type {HypervisorDriver, LogSink} from '../drivers/types.js'
import type {StorageVolumes} from '../drivers/storage-vol-types.js'
import type {StorageDriverImpl} from '../drivers/storage/driver.js'
import {ErrorDomain, errors} from '../errors.js'
import {daemonPaths, driverStateDirs, type DaemonPaths} from './paths.js'

/** What the wiring needs of a daemon. */
export interface StorageHost {
  readonly paths: DaemonPaths
  readonly log: LogSink
  readonly registry: DriverRegistry
}

const storageOf = new WeakMap<StorageHost, StorageDriverImpl>()

/** A storage driver this daemon will set up (after its hypervisors): undefined when its set-up failed. */
const storageComing = new WeakMap<StorageHost, {driver: Promise<StorageDriverImpl | undefined>; settle: (s?: StorageDriverImpl) => void}>()

/** The daemon hosts the storage driver and sets it up later than the QEMU driver, which resolves volumes through it. */
export function expectStorage(d: StorageHost): void {
  let settle!: (s?: StorageDriverImpl) => void
  const driver = new Promise<StorageDriverImpl | undefined>((r) => (settle = r))
  storageComing.set(d, {driver, settle})
}

export async function setupStorage(d: StorageHost): Promise<void> {
  let storage: StorageDriverImpl | undefined
  try {
    const {createStorageDriver} = await import('../drivers/storage/driver.js')
    const dirs = driverStateDirs(d.paths, 'storage')
    // System mode defines the `default` pool on a blank config, as virt-manager and virt-install expect.
    const defaultPoolPath = d.paths.mode === 'system' ? `${d.paths.stateDir}/images` : undefined
    const created = await createStorageDriver({...dirs, log: d.log, defaultPoolPath})
    storage = created
    d.registry.storage = () => created
    storageOf.set(d, created)
  } finally {
    storageComing.get(d)?.settle(storage)
  }
}

/** The volumes of a storage driver still being set up: each call waits for it. */
function comingVolumes(driver: Promise<StorageDriverImpl | undefined>): StorageVolumes {
  const ready = async (): Promise<StorageVolumes> => {
    const s = await driver
    if (!s) throw errors.noSupport(ErrorDomain.STORAGE, 'no storage driver to resolve volume disks')
    return s
  }
  return {
    resolveVolume: async (pool, volume) => (await ready()).resolveVolume(pool, volume),
    deleteVolumeByPath: async (path) => (await driver)?.deleteVolumeByPath(path) ?? false,
    precreateVolume: async (pool, name, xml, flags) => (await ready()).precreateVolume(pool, name, xml, flags),
  }
}

/** The volumes the QEMU driver resolves: in process in libvirtd, virtstoraged's over RPC in virtqemud. */
export async function volumesFor(d: StorageHost): Promise<StorageVolumes> {
  const local = storageOf.get(d)
  if (local) return local
  const coming = storageComing.get(d)
  if (coming) return comingVolumes(coming.driver)
  const {remoteStorageVolumes} = await import('../client/storage.js')
  const sock = daemonPaths({daemon: 'virtstoraged', mode: d.paths.mode, root: d.paths.root}).sockRw
  return remoteStorageVolumes(sock, `storage:///${d.paths.mode}`)
}

/** Lets the storage driver refuse to delete a volume a running guest has as a disk (once both are set up). */
export function linkGuestsToStorage(d: StorageHost, qemu: HypervisorDriver): void {
  const link = (storage: StorageDriverImpl | undefined) => {
    if (storage) storage.inUseByGuest = (path) => qemu.listDomains(1).some((ref) => qemu.getXMLDesc(ref.uuid, 0).includes(`'${path}'`))
  }
  const storage = storageOf.get(d)
  if (storage) link(storage)
  else void storageComing.get(d)?.driver.then(link)
}
