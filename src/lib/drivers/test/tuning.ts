/**
 * Memory, vCPUs, tuning and metadata of the test driver's domains, as libvirt's test driver has them:
 * live changes go to the live definition, --config ones to the persistent one; nothing runs, so
 * vCPU placement and the scheduler are what libvirt's test driver reports.
 */
import {ErrorDomain, errors} from '../../errors.js'
import {currentDef, isActive, type DomainObj} from '../../conf/domain-list.js'
import type {DomainDef} from '../../conf/domain.js'
import {allCpus} from '../../conf/cpuset.js'
import {dropVcpuPinsFrom, readCputune, setEmulatorPin, setVcpuPin} from '../../conf/domain-tuning.js'
import {checkSetMetadataArgs, getMetadata, setMetadata, METADATA_ELEMENT} from '../../conf/domain-metadata.js'
import {
  Affect,
  MEM_MAXIMUM,
  TUNING_EVENT,
  TYPED_PARAM_STRING_OKAY,
  VcpuFlag,
  type TunableParam,
  type TuningApi,
  type TuningEventMsg,
  type VcpuInfo,
} from '../tuning-types.js'
import {checkFlags, resolveImpact, resolveOne, validateParams} from '../tuning-impact.js'
import {applyBlkio, applyMemtune, applyNuma, blkioParams, memtuneParams, numaParams} from '../tuning-params.js'
import type {DomainRef} from '../types.js'
import {TEST_NODE_INFO} from './defaults.js'

const D = ErrorDomain.TEST
const LC = Affect.LIVE | Affect.CONFIG
/** The host CPUs a vCPU may run on when nothing pins it. */
const HOST_CPUS = TEST_NODE_INFO.cpus

export interface TestTuningHooks<T extends DomainObj> {
  get(uuid: string): T
  ref(d: T): DomainRef
  emit(msg: TuningEventMsg): void
  cpuTimeNs(d: T): bigint
}

export class TestTuning<T extends DomainObj> implements TuningApi {
  constructor(private readonly h: TestTuningHooks<T>) {}

  private defs(d: T, flags: number): DomainDef[] {
    const i = resolveImpact(d, flags)
    return [i.live, i.config].filter((x): x is DomainDef => x !== undefined)
  }

  setMemoryFlags(uuid: string, kib: bigint, flags: number): void {
    checkFlags(flags, LC | MEM_MAXIMUM, 'testDomainSetMemoryFlags', D)
    const d = this.h.get(uuid)
    const i = resolveImpact(d, flags)
    if (flags & MEM_MAXIMUM) {
      if (i.live) throw errors.operationInvalid(ErrorDomain.DOMAIN, 'cannot resize the maximum memory on an active domain')
      if (i.config) {
        i.config.memoryKiB = Number(kib)
        if (i.config.currentMemoryKiB > i.config.memoryKiB) i.config.currentMemoryKiB = i.config.memoryKiB
      }
      return
    }
    for (const def of [i.live, i.config]) {
      if (def && kib > BigInt(def.memoryKiB)) throw errors.invalidArg(ErrorDomain.DOMAIN, 'cannot set memory higher than max memory')
    }
    for (const def of [i.live, i.config]) if (def) def.currentMemoryKiB = Number(kib)
  }

  setVcpusFlags(uuid: string, nvcpus: number, flags: number): void {
    checkFlags(flags, LC | VcpuFlag.MAXIMUM, 'testDomainSetVcpusFlags', D)
    const d = this.h.get(uuid)
    const i = resolveImpact(d, flags)
    if (flags & VcpuFlag.MAXIMUM && i.live) throw errors.invalidArg(D, 'cannot set max vcpu count on an active domain')
    for (const def of [i.live, i.config]) {
      if (!def) continue
      const max = flags & VcpuFlag.MAXIMUM ? 32 : def.vcpus
      if (nvcpus > max) throw errors.invalidArg(ErrorDomain.DOMAIN, `requested cpu amount exceeds maximum (${nvcpus} > ${max})`)
    }
    if (i.config) {
      if (flags & VcpuFlag.MAXIMUM) {
        i.config.vcpus = nvcpus
        if (i.config.currentVcpus > nvcpus) i.config.currentVcpus = nvcpus
        dropVcpuPinsFrom(i.config, nvcpus)
      } else i.config.currentVcpus = nvcpus
    }
    if (i.live) i.live.currentVcpus = nvcpus
  }

  getVcpusFlags(uuid: string, flags: number): number {
    checkFlags(flags, LC | VcpuFlag.MAXIMUM, 'testDomainGetVcpusFlags', D)
    const {def} = resolveOne(this.h.get(uuid), flags)
    return flags & VcpuFlag.MAXIMUM ? def.vcpus : def.currentVcpus
  }

  getVcpus(uuid: string): {info: VcpuInfo[]; affinity: number[][]} {
    const d = this.h.get(uuid)
    if (!isActive(d) || !d.live) throw errors.operationInvalid(D, 'cannot list vcpus for an inactive domain')
    const def = d.live
    const pins = readCputune(def).vcpupin
    const time = this.h.cpuTimeNs(d) / BigInt(Math.max(1, def.currentVcpus))
    const info: VcpuInfo[] = []
    const affinity: number[][] = []
    for (let v = 0; v < def.currentVcpus; v++) {
      const cpus = pins.get(v) ?? allCpus(HOST_CPUS)
      info.push({number: v, state: 1, cpuTimeNs: time, cpu: cpus[cpus.length - 1] ?? 0})
      affinity.push(cpus)
    }
    return {info, affinity}
  }

  pinVcpuFlags(uuid: string, vcpu: number, cpus: number[], flags: number): void {
    checkFlags(flags, 0, 'testDomainPinVcpuFlags', D)
    const d = this.h.get(uuid)
    if (!isActive(d) || !d.live) throw errors.operationInvalid(D, 'cannot pin vcpus on an inactive domain')
    if (vcpu >= d.live.currentVcpus) throw errors.invalidArg(D, `requested vcpu '${vcpu}' is not present in the domain`)
    setVcpuPin(
      d.live,
      vcpu,
      cpus.filter((c) => c < HOST_CPUS),
    )
  }

  getVcpuPinInfo(uuid: string, flags: number): number[][] {
    checkFlags(flags, LC, 'testDomainGetVcpuPinInfo', D)
    const {def} = resolveOne(this.h.get(uuid), flags)
    const pins = readCputune(def).vcpupin
    return Array.from({length: def.vcpus}, (_, v) => pins.get(v) ?? allCpus(HOST_CPUS))
  }

  pinEmulator(uuid: string, cpus: number[], flags: number): void {
    checkFlags(flags, LC, 'testDomainPinEmulator', D)
    const d = this.h.get(uuid)
    for (const def of this.defs(d, flags))
      setEmulatorPin(
        def,
        cpus.filter((c) => c < HOST_CPUS),
      )
  }

  getEmulatorPinInfo(uuid: string, flags: number): number[] {
    checkFlags(flags, LC, 'testDomainGetEmulatorPinInfo', D)
    const {def} = resolveOne(this.h.get(uuid), flags)
    return readCputune(def).emulatorpin ?? allCpus(HOST_CPUS)
  }

  nodeCpuMap(): {present: number; online: number[]} {
    return {present: 8, online: [0, 2, 4]}
  }

  getSchedulerType(uuid: string): {type: string; nparams: number} {
    this.h.get(uuid)
    return {type: 'fair', nparams: 1}
  }

  getSchedulerParameters(uuid: string, flags: number): TunableParam[] {
    checkFlags(flags, 0, 'testDomainGetSchedulerParametersFlags', D)
    this.h.get(uuid)
    return [{field: 'weight', type: 'uint', value: 50}]
  }

  setSchedulerParameters(uuid: string, params: TunableParam[], flags: number): void {
    checkFlags(flags, 0, 'testDomainSetSchedulerParametersFlags', D)
    validateParams(params, {weight: 'uint'})
    this.h.get(uuid)
  }

  getMemoryParameters(uuid: string, flags: number): TunableParam[] {
    checkFlags(flags, LC | TYPED_PARAM_STRING_OKAY, 'testDomainGetMemoryParameters', D)
    return memtuneParams(resolveOne(this.h.get(uuid), flags).def)
  }

  setMemoryParameters(uuid: string, params: TunableParam[], flags: number): void {
    checkFlags(flags, LC, 'testDomainSetMemoryParameters', D)
    applyMemtune(this.defs(this.h.get(uuid), flags), params)
  }

  getBlkioParameters(uuid: string, flags: number): TunableParam[] {
    checkFlags(flags, LC | TYPED_PARAM_STRING_OKAY, 'testDomainGetBlkioParameters', D)
    return blkioParams(resolveOne(this.h.get(uuid), flags).def)
  }

  setBlkioParameters(uuid: string, params: TunableParam[], flags: number): void {
    checkFlags(flags, LC, 'testDomainSetBlkioParameters', D)
    applyBlkio(this.defs(this.h.get(uuid), flags), params)
  }

  getNumaParameters(uuid: string, flags: number): TunableParam[] {
    checkFlags(flags, LC | TYPED_PARAM_STRING_OKAY, 'testDomainGetNumaParameters', D)
    return numaParams(resolveOne(this.h.get(uuid), flags).def)
  }

  setNumaParameters(uuid: string, params: TunableParam[], flags: number): void {
    checkFlags(flags, LC, 'testDomainSetNumaParameters', D)
    applyNuma(this.defs(this.h.get(uuid), flags), params, TEST_NODE_INFO.nodes)
  }

  setMetadata(uuid: string, type: number, metadata: string | null, key: string | null, uri: string | null, flags: number): void {
    checkSetMetadataArgs(type, metadata, key, uri)
    checkFlags(flags, LC, 'testDomainSetMetadata', D)
    const d = this.h.get(uuid)
    for (const def of this.defs(d, flags)) setMetadata(def, type, metadata, key, uri)
    this.h.emit({kind: 'metadata-change', dom: this.h.ref(d), type, nsuri: type === METADATA_ELEMENT ? uri : null})
  }

  getMetadata(uuid: string, type: number, uri: string | null, flags: number): string {
    checkFlags(flags, LC, 'testDomainGetMetadata', D)
    const d = this.h.get(uuid)
    return getMetadata(resolveOne(d, flags).def ?? currentDef(d), type, uri)
  }
}

/** Emits a tuning event on a driver's emitter. */
export function emitTuning(events: {emit(name: string, msg: TuningEventMsg): boolean}, msg: TuningEventMsg): void {
  events.emit(TUNING_EVENT, msg)
}
