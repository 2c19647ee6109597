/**
 * The QEMU driver of a host without QEMU, as libvirtd 9.0 behaves there: qemu:///system still
 * opens, the host facts (node info, capabilities with no <guest>, hostname) answer, no guest is
 * listed, and every call that needs an emulator fails with libvirt's own error:
 *  - virConnectGetVersion: internal error "Cannot find suitable emulator for x86_64";
 *  - virConnectGetDomainCapabilities: unsupported configuration "unable to find any emulator to
 *    serve 'ARCH' architecture" ('(null)' when no arch is given);
 *  - define / create: unsupported configuration "No emulator found for arch 'ARCH'".
 * The daemon registers it in place of the real driver when the emulator is missing at start-up
 * (restart the daemon once QEMU is installed).
 */
import {checkQemuUriPath} from '../drivers/qemu/uri.js'
import {EventEmitter} from 'node:events'
import {accessSync, constants, statSync} from 'node:fs'
import {hostname} from 'node:os'
import {ErrorDomain, errors, type VirError} from '../errors.js'
import {formatCapabilities} from '../conf/capabilities.js'
import type {DomainCapsArgs, DomainInfo, DomainRef, DomainStats, HypervisorDriver, NodeInfo} from '../drivers/types.js'
import {nodeFreeMemoryBytes, readHostFacts, type HostFacts} from '../drivers/qemu/host.js'

const D = ErrorDomain.QEMU

/** Whether `path` is an executable regular file (what libvirt requires of an emulator). */
export function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

function archOfXml(xml: string, fallback: string): string {
  return /<type\b[^>]*\barch=['"]([^'"]+)['"]/.exec(xml)?.[1] ?? fallback
}

export class AbsentQemuDriver implements HypervisorDriver {
  readonly name = 'QEMU'
  readonly type = 'QEMU'
  readonly events = new EventEmitter()
  private readonly mode: 'system' | 'session'
  private readonly host: HostFacts
  /** The emulator that was looked for, for messages. */
  readonly emulator: string

  constructor(mode: 'system' | 'session', emulator: string) {
    this.mode = mode
    this.emulator = emulator
    this.host = readHostFacts()
  }

  private get arch(): string {
    return this.host.node.model
  }

  private noEmulator(arch: string): VirError {
    return errors.configUnsupported(D, `No emulator found for arch '${arch}'`)
  }

  private noDomain(uuid: string): VirError {
    return errors.noDomain(D, `no domain with matching uuid '${uuid}'`)
  }

  canonicalUri(): string {
    return `qemu:///${this.mode}`
  }

  checkUriPath(path: string): void {
    checkQemuUriPath(this.mode, path)
  }

  getVersion(): bigint {
    throw errors.internal(D, `Cannot find suitable emulator for ${this.arch}`)
  }

  getHostname(): string {
    return hostname()
  }

  getCapabilities(): string {
    const h = this.host
    const n = h.node
    return formatCapabilities({
      hostUuid: h.hostUuid,
      arch: n.model,
      cpuVendor: h.vendor,
      topology: {sockets: n.sockets, cores: n.cores, threads: n.threads},
      pageSizesKiB: [4, 2048],
      iommu: false,
      migrationTransports: ['tcp', 'rdma'],
      cells: [{id: 0, memoryKiB: h.memoryKiB, cpus: h.cpuIds}],
      secModels: [{model: 'none', doi: '0'}],
      guests: [],
    })
  }

  getDomainCapabilities(args: DomainCapsArgs): string {
    throw errors.configUnsupported(D, `unable to find any emulator to serve '${args.arch ?? '(null)'}' architecture`)
  }

  getMaxVcpus(): number {
    return 16
  }

  nodeInfo(): NodeInfo {
    return this.host.node
  }

  nodeFreeMemory(): bigint {
    return nodeFreeMemoryBytes()
  }

  securityModel(): {model: string; doi: string} {
    return {model: 'none', doi: '0'}
  }

  hasActiveDomains(): boolean {
    return false
  }

  listDomains(): DomainRef[] {
    return []
  }

  numOfDomains(): number {
    return 0
  }

  lookupById(id: number): DomainRef {
    throw errors.noDomain(D, `no domain with matching id ${id}`)
  }

  lookupByName(name: string): DomainRef {
    throw errors.noDomain(D, `no domain with matching name '${name}'`)
  }

  lookupByUuid(uuid: string): DomainRef {
    throw this.noDomain(uuid)
  }

  defineXML(xml: string): DomainRef {
    throw this.noEmulator(archOfXml(xml, this.arch))
  }

  createXML(xml: string): DomainRef {
    throw this.noEmulator(archOfXml(xml, this.arch))
  }

  getStats(refs: DomainRef[] | null): DomainStats[] {
    if (refs?.length) throw this.noDomain(refs[0].uuid)
    return []
  }

  // Every call below names a domain, and there is none.
  create(uuid: string): never {
    throw this.noDomain(uuid)
  }
  destroy(uuid: string): never {
    throw this.noDomain(uuid)
  }
  shutdown(uuid: string): never {
    throw this.noDomain(uuid)
  }
  reboot(uuid: string): never {
    throw this.noDomain(uuid)
  }
  reset(uuid: string): never {
    throw this.noDomain(uuid)
  }
  suspend(uuid: string): never {
    throw this.noDomain(uuid)
  }
  resume(uuid: string): never {
    throw this.noDomain(uuid)
  }
  undefine(uuid: string): never {
    throw this.noDomain(uuid)
  }
  getXMLDesc(uuid: string): never {
    throw this.noDomain(uuid)
  }
  getInfo(uuid: string): DomainInfo {
    throw this.noDomain(uuid)
  }
  getState(uuid: string): never {
    throw this.noDomain(uuid)
  }
  getOSType(uuid: string): never {
    throw this.noDomain(uuid)
  }
  getMaxMemory(uuid: string): never {
    throw this.noDomain(uuid)
  }
  domainGetMaxVcpus(uuid: string): never {
    throw this.noDomain(uuid)
  }
  getAutostart(uuid: string): never {
    throw this.noDomain(uuid)
  }
  setAutostart(uuid: string): never {
    throw this.noDomain(uuid)
  }
  isActive(uuid: string): never {
    throw this.noDomain(uuid)
  }
  isPersistent(uuid: string): never {
    throw this.noDomain(uuid)
  }
  isUpdated(uuid: string): never {
    throw this.noDomain(uuid)
  }
  hasManagedSave(uuid: string): never {
    throw this.noDomain(uuid)
  }
  getMessages(uuid: string): never {
    throw this.noDomain(uuid)
  }
}
