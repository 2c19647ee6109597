/**
 * Memory, vCPUs, tuning and metadata of QEMU guests (virDomainSetMemoryFlags, SetVcpusFlags,
 * PinVcpuFlags, ...): live changes through QMP and thread affinity, persistent ones written to the
 * definition atomically, each refused whole or applied whole, as libvirt's QEMU driver does.
 * vctl does not place guests in cgroups, so live scheduler, memtune and blkiotune values are refused
 * with libvirt's "controller is not mounted" errors; --config values work.
 */
import * as fs from 'node:fs'
import {errors} from '../../errors.js'
import {formatDomainXml, type DomainDef} from '../../conf/domain.js'
import {allCpus, formatCpuset, parseCpuset} from '../../conf/cpuset.js'
import {dropVcpuPinsFrom, readCputune, setCputuneValue, setEmulatorPin, setVcpuPin} from '../../conf/domain-tuning.js'
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
} from '../tuning-types.js'
import {checkFlags, resolveImpact, resolveOne, validateParams, type Impact} from '../tuning-impact.js'
import {applyBlkio, applyMemtune, applyNuma, blkioParams, memtuneParams, numaParams} from '../tuning-params.js'
import {D, cloneDef, type QemuContext, type QemuDomain} from './context.js'
import {emulatorThreads, setAffinity, setOnlineVcpus, vcpuInfo, vcpuThreads} from './vcpus.js'
import {hasVirtioBalloon} from './argv.js'
import {liveBlkio, liveMemtune, liveSched, setLiveBlkio, setLiveMemtune, setLiveSched} from './tuning-cgroup.js'

const LC = Affect.LIVE | Affect.CONFIG
const cgroupMissing = (what: string) => errors.operationInvalid(D, what)

/** Host CPUs present (/sys/devices/system/cpu/present), and the online ones. */
export function hostCpus(): {present: number; online: number[]} {
  const read = (f: string) => {
    try {
      return parseCpuset(fs.readFileSync(`/sys/devices/system/cpu/${f}`, 'utf8').trim(), D)
    } catch {
      return allCpus(1)
    }
  }
  const present = read('present')
  return {present: (present[present.length - 1] ?? 0) + 1, online: read('online')}
}

const SCHED_PARAMS = {
  cpu_shares: 'ullong',
  vcpu_period: 'ullong',
  vcpu_quota: 'llong',
  emulator_period: 'ullong',
  emulator_quota: 'llong',
  global_period: 'ullong',
  global_quota: 'llong',
  iothread_period: 'ullong',
  iothread_quota: 'llong',
} as const
const SCHED_XML = {
  cpu_shares: 'shares',
  vcpu_period: 'period',
  vcpu_quota: 'quota',
  emulator_period: 'emulator_period',
  emulator_quota: 'emulator_quota',
  global_period: 'global_period',
  global_quota: 'global_quota',
  iothread_period: 'iothread_period',
  iothread_quota: 'iothread_quota',
} as const

export class QemuTuning implements TuningApi {
  constructor(private readonly ctx: QemuContext) {}

  private emit(msg: TuningEventMsg): void {
    if (!this.ctx.closed) this.ctx.events.emit(TUNING_EVENT, msg)
  }

  /** Applies `fn` to a copy of the persistent definition, writes it atomically, then keeps it. */
  private async updateConfig(d: QemuDomain, fn: (def: DomainDef) => void): Promise<void> {
    if (!d.config) return
    const copy = cloneDef(d.config)
    fn(copy)
    await this.ctx.store.writeConfig(copy.name, formatDomainXml(copy, {secure: true}))
    d.config = copy
  }

  private async change(d: QemuDomain, i: Impact, fn: (def: DomainDef) => void): Promise<void> {
    if (i.config) await this.updateConfig(d, fn)
    if (i.live) {
      fn(i.live)
      await this.ctx.saveStatus(d)
    }
  }

  // ---- memory ----------------------------------------------------------------------------------

  async setMemoryFlags(uuid: string, kib: bigint, flags: number): Promise<void> {
    checkFlags(flags, LC | MEM_MAXIMUM, 'qemuDomainSetMemoryFlags', D)
    const d = this.ctx.domains.get(uuid)
    await this.ctx.withJob(d, async () => {
      const i = resolveImpact(d, flags)
      if (flags & MEM_MAXIMUM) {
        if (i.live) throw errors.operationInvalid(D, 'cannot resize the maximum memory on an active domain')
        if (kib < 1n) throw errors.invalidArg(D, 'memory size must be larger than 0')
        await this.updateConfig(d, (def) => {
          def.memoryKiB = Number(kib)
          if (def.currentMemoryKiB > def.memoryKiB) def.currentMemoryKiB = def.memoryKiB
        })
        return
      }
      for (const def of [i.live, i.config]) {
        if (def && kib > BigInt(def.memoryKiB)) throw errors.invalidArg(D, 'cannot set memory higher than max memory')
      }
      if (i.live) {
        if (!hasVirtioBalloon(i.live)) {
          throw errors.operationInvalid(D, 'Unable to change memory of active domain without the balloon device and guest OS balloon driver')
        }
        const run = this.ctx.requireActive(d)
        await this.ctx.requireMonitor(run).execute('balloon', {value: Number(kib) * 1024})
      }
      await this.change(d, i, (def) => (def.currentMemoryKiB = Number(kib)))
    })
  }

  // ---- vCPUs -----------------------------------------------------------------------------------

  async setVcpusFlags(uuid: string, nvcpus: number, flags: number): Promise<void> {
    checkFlags(flags, LC | VcpuFlag.MAXIMUM | VcpuFlag.GUEST | VcpuFlag.HOTPLUGGABLE, 'qemuDomainSetVcpusFlags', D)
    const d = this.ctx.domains.get(uuid)
    await this.ctx.withJob(d, async () => {
      const i = resolveImpact(d, flags)
      if (flags & VcpuFlag.GUEST) throw errors.operationFailed(D, 'QEMU guest agent is not configured')
      if (flags & VcpuFlag.MAXIMUM) {
        if (i.live) throw errors.invalidArg(D, "changing of maximum vCPU count isn't supported via guest agent")
        if (nvcpus < 1) throw errors.invalidArg(D, 'vCPU count must be greater than 0')
        await this.updateConfig(d, (def) => {
          def.vcpus = nvcpus
          if (def.currentVcpus > nvcpus) def.currentVcpus = nvcpus
          dropVcpuPinsFrom(def, nvcpus)
        })
        return
      }
      if (i.live && nvcpus > i.live.vcpus) {
        throw errors.invalidArg(D, `requested vcpus is greater than max allowable vcpus for the live domain: ${nvcpus} > ${i.live.vcpus}`)
      }
      if (i.config && nvcpus > i.config.vcpus) {
        throw errors.invalidArg(D, `requested vcpus is greater than max allowable vcpus for the persistent domain: ${nvcpus} > ${i.config.vcpus}`)
      }
      if (i.live && nvcpus !== i.live.currentVcpus) {
        const run = this.ctx.requireActive(d)
        await setOnlineVcpus(this.ctx, run, i.live.currentVcpus, nvcpus)
      }
      await this.change(d, i, (def) => (def.currentVcpus = nvcpus))
    })
  }

  getVcpusFlags(uuid: string, flags: number): number {
    checkFlags(flags, LC | VcpuFlag.MAXIMUM | VcpuFlag.GUEST, 'qemuDomainGetVcpusFlags', D)
    const d = this.ctx.domains.get(uuid)
    const {def} = resolveOne(d, flags)
    if (flags & VcpuFlag.GUEST) throw errors.operationFailed(D, 'QEMU guest agent is not configured')
    return flags & VcpuFlag.MAXIMUM ? def.vcpus : def.currentVcpus
  }

  async getVcpus(uuid: string) {
    const d = this.ctx.domains.get(uuid)
    if (!d.run) throw errors.operationInvalid(D, 'cannot retrieve vcpu information for inactive domain')
    return vcpuInfo(this.ctx, d.run)
  }

  async pinVcpuFlags(uuid: string, vcpu: number, cpus: number[], flags: number): Promise<void> {
    checkFlags(flags, LC, 'qemuDomainPinVcpuFlags', D)
    const d = this.ctx.domains.get(uuid)
    await this.ctx.withJob(d, async () => {
      const i = resolveImpact(d, flags)
      const host = hostCpus()
      const use = cpus.filter((c) => c < host.present)
      if (use.length === 0) throw errors.invalidArg(D, 'No CPU selected in cpumap')
      for (const def of [i.live, i.config]) {
        if (def && vcpu >= def.vcpus) throw errors.invalidArg(D, `vcpu ${vcpu} is out of range of live cpu count ${def.vcpus}`)
      }
      if (i.live) {
        const tid = (await vcpuThreads(this.ctx, this.ctx.requireActive(d))).get(vcpu)
        if (tid === undefined) throw errors.invalidArg(D, `vcpu ${vcpu} is out of range of live cpu count ${i.live.currentVcpus}`)
        await setAffinity(tid, use)
      }
      const all = use.length === host.present
      await this.change(d, i, (def) => setVcpuPin(def, vcpu, all ? undefined : use))
      if (i.live)
        this.emit({kind: 'tunable', dom: this.ctx.ref(d), params: [{field: `cputune.vcpupin${vcpu}`, type: 'string', value: formatCpuset(use)}]})
    })
  }

  getVcpuPinInfo(uuid: string, flags: number): number[][] {
    checkFlags(flags, LC, 'qemuDomainGetVcpuPinInfo', D)
    const {def} = resolveOne(this.ctx.domains.get(uuid), flags)
    const pins = readCputune(def).vcpupin
    const all = allCpus(hostCpus().present)
    return Array.from({length: def.vcpus}, (_, v) => pins.get(v) ?? all)
  }

  async pinEmulator(uuid: string, cpus: number[], flags: number): Promise<void> {
    checkFlags(flags, LC, 'qemuDomainPinEmulator', D)
    const d = this.ctx.domains.get(uuid)
    await this.ctx.withJob(d, async () => {
      const i = resolveImpact(d, flags)
      const host = hostCpus()
      const use = cpus.filter((c) => c < host.present)
      if (use.length === 0) throw errors.invalidArg(D, 'Empty cpu list for pinning')
      if (i.live) {
        const run = this.ctx.requireActive(d)
        const vcpus = await vcpuThreads(this.ctx, run)
        for (const tid of emulatorThreads(run, vcpus.values())) await setAffinity(tid, use)
      }
      const all = use.length === host.present
      await this.change(d, i, (def) => setEmulatorPin(def, all ? undefined : use))
      if (i.live)
        this.emit({kind: 'tunable', dom: this.ctx.ref(d), params: [{field: 'cputune.emulatorpin', type: 'string', value: formatCpuset(use)}]})
    })
  }

  getEmulatorPinInfo(uuid: string, flags: number): number[] {
    checkFlags(flags, LC, 'qemuDomainGetEmulatorPinInfo', D)
    const {def} = resolveOne(this.ctx.domains.get(uuid), flags)
    return readCputune(def).emulatorpin ?? allCpus(hostCpus().present)
  }

  nodeCpuMap(): {present: number; online: number[]} {
    return hostCpus()
  }

  // ---- scheduler, memtune, blkiotune, numatune ------------------------------------------------

  getSchedulerType(uuid: string): {type: string; nparams: number} {
    this.ctx.domains.get(uuid)
    return {type: 'posix', nparams: 9}
  }

  getSchedulerParameters(uuid: string, flags: number): TunableParam[] {
    checkFlags(flags, LC | TYPED_PARAM_STRING_OKAY, 'qemuDomainGetSchedulerParametersFlags', D)
    const d = this.ctx.domains.get(uuid)
    const {def, live} = resolveOne(d, flags)
    if (live) return liveSched(this.ctx.requireActive(d).pid, def)
    const v = readCputune(def).values
    return (Object.keys(SCHED_PARAMS) as Array<keyof typeof SCHED_PARAMS>).map((f) => ({
      field: f,
      type: SCHED_PARAMS[f],
      value: v[SCHED_XML[f]] ?? 0n,
    }))
  }

  async setSchedulerParameters(uuid: string, params: TunableParam[], flags: number): Promise<void> {
    checkFlags(flags, LC, 'qemuDomainSetSchedulerParametersFlags', D)
    validateParams(params, SCHED_PARAMS)
    const d = this.ctx.domains.get(uuid)
    await this.ctx.withJob(d, async () => {
      const i = resolveImpact(d, flags)
      if (i.live) setLiveSched(this.ctx.requireActive(d).pid, params)
      await this.change(d, i, (def) => {
        for (const p of params) setCputuneValue(def, SCHED_XML[p.field as keyof typeof SCHED_XML], p.value as bigint)
      })
      if (i.live) {
        const ev = params.map((p) => ({...p, field: `cputune.${p.field}`}))
        this.emit({kind: 'tunable', dom: this.ctx.ref(d), params: ev})
      }
    })
  }

  getMemoryParameters(uuid: string, flags: number): TunableParam[] {
    checkFlags(flags, LC | TYPED_PARAM_STRING_OKAY, 'qemuDomainGetMemoryParameters', D)
    const d = this.ctx.domains.get(uuid)
    const {def, live} = resolveOne(d, flags)
    return live ? liveMemtune(this.ctx.requireActive(d).pid) : memtuneParams(def)
  }

  async setMemoryParameters(uuid: string, params: TunableParam[], flags: number): Promise<void> {
    checkFlags(flags, LC, 'qemuDomainSetMemoryParameters', D)
    const d = this.ctx.domains.get(uuid)
    await this.ctx.withJob(d, async () => {
      const i = resolveImpact(d, flags)
      // Checked on scratch copies first: nothing is half applied.
      applyMemtune([i.live, i.config].filter((x): x is DomainDef => x !== undefined).map(cloneDef), params)
      if (i.live) setLiveMemtune(this.ctx.requireActive(d).pid, params)
      await this.change(d, i, (def) => applyMemtune([def], params))
    })
  }

  getBlkioParameters(uuid: string, flags: number): TunableParam[] {
    checkFlags(flags, LC | TYPED_PARAM_STRING_OKAY, 'qemuDomainGetBlkioParameters', D)
    const d = this.ctx.domains.get(uuid)
    const {def, live} = resolveOne(d, flags)
    return live ? liveBlkio(this.ctx.requireActive(d).pid, def) : blkioParams(def)
  }

  async setBlkioParameters(uuid: string, params: TunableParam[], flags: number): Promise<void> {
    checkFlags(flags, LC, 'qemuDomainSetBlkioParameters', D)
    const d = this.ctx.domains.get(uuid)
    await this.ctx.withJob(d, async () => {
      const i = resolveImpact(d, flags)
      applyBlkio([i.live, i.config].filter((x): x is DomainDef => x !== undefined).map(cloneDef), params)
      if (i.live) setLiveBlkio(this.ctx.requireActive(d).pid, params)
      await this.change(d, i, (def) => applyBlkio([def], params))
    })
  }

  getNumaParameters(uuid: string, flags: number): TunableParam[] {
    checkFlags(flags, LC | TYPED_PARAM_STRING_OKAY, 'qemuDomainGetNumaParameters', D)
    return numaParams(resolveOne(this.ctx.domains.get(uuid), flags).def)
  }

  async setNumaParameters(uuid: string, params: TunableParam[], flags: number): Promise<void> {
    checkFlags(flags, LC, 'qemuDomainSetNumaParameters', D)
    const d = this.ctx.domains.get(uuid)
    const i = resolveImpact(d, flags)
    if (i.live) throw cgroupMissing('cgroup cpuset controller is not mounted')
    const nodes = this.ctx.probe.host.node.nodes
    applyNuma([i.live, i.config].filter((x): x is DomainDef => x !== undefined).map(cloneDef), params, nodes)
    await this.updateConfig(d, (def) => applyNuma([def], params, nodes))
  }

  // ---- metadata --------------------------------------------------------------------------------

  async setMetadata(uuid: string, type: number, metadata: string | null, key: string | null, uri: string | null, flags: number): Promise<void> {
    checkSetMetadataArgs(type, metadata, key, uri)
    checkFlags(flags, LC, 'qemuDomainSetMetadata', D)
    const d = this.ctx.domains.get(uuid)
    const i = resolveImpact(d, flags)
    // Checked on a scratch copy first, so a bad element changes neither definition.
    setMetadata(cloneDef((i.live ?? i.config) as DomainDef), type, metadata, key, uri)
    await this.change(d, i, (def) => setMetadata(def, type, metadata, key, uri))
    this.emit({kind: 'metadata-change', dom: this.ctx.ref(d), type, nsuri: type === METADATA_ELEMENT ? uri : null})
  }

  getMetadata(uuid: string, type: number, uri: string | null, flags: number): string {
    checkFlags(flags, LC, 'qemuDomainGetMetadata', D)
    return getMetadata(resolveOne(this.ctx.domains.get(uuid), flags).def, type, uri)
  }
}
