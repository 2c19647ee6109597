/**
 * The REMOTE handlers of a guest's memory, vCPUs, tuning and metadata: libvirt's dispatcher checks on
 * sizes, cpumap bytes <-> host CPU lists, typed parameters <-> the driver's, then one driver call.
 */
import {ErrorCode, ErrorDomain, VirError, errors} from '../../errors.js'
import type {TypedParam} from '../../rpc/codec.js'
import type {RpcConnection} from '../../rpc/server.js'
import {CPUMAPS_MAX, TUNING_PARAMS_MAX, VCPUINFO_MAX} from '../../rpc/programs/remote/domain-tuning.js'
import {Affect, MEM_MAXIMUM, TYPED_PARAM_STRING_OKAY, VcpuFlag, type TunableParam, type TuningApi} from '../../drivers/tuning-types.js'
import {paramToWire} from './typed-params.js'
import {P, hv, then, u, type On} from './context.js'

/** The connection's tuning API, or libvirt's "not supported" naming the public function. */
function tun(conn: RpcConnection, api: string): TuningApi {
  const t = hv(conn).tuning
  if (!t) throw errors.noSupport(ErrorDomain.DOMAIN, api)
  return t
}

/** An error of libvirt's RPC dispatcher (internal error, RPC domain). */
const dispatchError = (text: string) =>
  new VirError(ErrorCode.INTERNAL_ERROR, ErrorDomain.RPC, `internal error: ${text}`, {str1: 'internal error: %s', str2: text})

/** Host CPU numbers set in a cpumap (bit i of byte i/8, least significant bit first). */
export function cpumapToList(map: Buffer): number[] {
  const out: number[] = []
  for (let i = 0; i < map.length * 8; i++) if (map[i >> 3] & (1 << (i & 7))) out.push(i)
  return out
}

/** Writes `cpus` as a cpumap of `maplen` bytes at `offset` (CPUs beyond the map are left out). */
export function writeCpumap(buf: Buffer, offset: number, maplen: number, cpus: readonly number[]): void {
  for (const c of cpus) if (c >= 0 && c < maplen * 8) buf[offset + (c >> 3)] |= 1 << (c & 7)
}

const TYPE_NAME = ['', 'int', 'uint', 'llong', 'ullong', 'double', 'boolean', 'string'] as const

function paramFromWire(p: TypedParam): TunableParam {
  return {field: p.field, type: TYPE_NAME[p.type], value: p.value}
}

/** What a getter returns for `nparams` asked: the count alone for 0, else up to nparams of them. */
function paramsReply(list: TunableParam[], nparams: number, flags: number): {params: TypedParam[]; nparams: number} {
  const shown = flags & TYPED_PARAM_STRING_OKAY ? list : list.filter((p) => p.type !== 'string')
  if (nparams === 0) return {params: [], nparams: shown.length}
  const out = shown.slice(0, nparams)
  return {params: out.map(paramToWire), nparams: out.length}
}

function checkNparams(nparams: number): void {
  if (nparams > TUNING_PARAMS_MAX) throw dispatchError('nparams too large')
}

export function registerTuning(on: On): void {
  // Memory.
  on(P.DOMAIN_SET_MAX_MEMORY, (conn, {dom, memory}) => tun(conn, 'virDomainSetMaxMemory').setMemoryFlags(u(dom), memory, MEM_MAXIMUM))
  on(P.DOMAIN_SET_MEMORY, (conn, {dom, memory}) => tun(conn, 'virDomainSetMemory').setMemoryFlags(u(dom), memory, Affect.LIVE))
  on(P.DOMAIN_SET_MEMORY_FLAGS, (conn, {dom, memory, flags}) => tun(conn, 'virDomainSetMemoryFlags').setMemoryFlags(u(dom), memory, flags))

  // vCPUs.
  on(P.DOMAIN_SET_VCPUS, (conn, {dom, nvcpus}) => tun(conn, 'virDomainSetVcpus').setVcpusFlags(u(dom), nvcpus, Affect.LIVE))
  on(P.DOMAIN_SET_VCPUS_FLAGS, (conn, {dom, nvcpus, flags}) => tun(conn, 'virDomainSetVcpusFlags').setVcpusFlags(u(dom), nvcpus, flags))
  on(P.DOMAIN_GET_VCPUS_FLAGS, (conn, {dom, flags}) => {
    if (conn.readonly && flags & VcpuFlag.GUEST) {
      throw errors.operationDenied(ErrorDomain.DOMAIN, 'read only access prevents virDomainGetVcpusFlags')
    }
    return then(tun(conn, 'virDomainGetVcpusFlags').getVcpusFlags(u(dom), flags), (num) => ({num}))
  })
  on(P.DOMAIN_GET_VCPUS, (conn, {dom, maxinfo, maplen}) => {
    if (maxinfo > VCPUINFO_MAX) throw dispatchError('maxinfo > REMOTE_VCPUINFO_MAX')
    if (maxinfo * maplen > CPUMAPS_MAX) throw dispatchError('maxinfo * maplen > REMOTE_CPUMAPS_MAX')
    return then(tun(conn, 'virDomainGetVcpus').getVcpus(u(dom)), ({info, affinity}) => {
      const n = Math.max(0, Math.min(info.length, maxinfo))
      const cpumaps = Buffer.alloc(Math.max(0, maxinfo * maplen))
      for (let i = 0; i < n; i++) writeCpumap(cpumaps, i * maplen, maplen, affinity[i] ?? [])
      return {info: info.slice(0, n).map((v) => ({number: v.number, state: v.state, cpu_time: v.cpuTimeNs, cpu: v.cpu})), cpumaps}
    })
  })
  on(P.DOMAIN_PIN_VCPU, (conn, {dom, vcpu, cpumap}) => tun(conn, 'virDomainPinVcpu').pinVcpuFlags(u(dom), vcpu, cpumapToList(cpumap), Affect.CURRENT))
  on(P.DOMAIN_PIN_VCPU_FLAGS, (conn, {dom, vcpu, cpumap, flags}) =>
    tun(conn, 'virDomainPinVcpuFlags').pinVcpuFlags(u(dom), vcpu, cpumapToList(cpumap), flags),
  )
  on(P.DOMAIN_GET_VCPU_PIN_INFO, (conn, {dom, ncpumaps, maplen, flags}) => {
    if (ncpumaps > VCPUINFO_MAX) throw dispatchError('ncpumaps > REMOTE_VCPUINFO_MAX')
    if (ncpumaps * maplen > CPUMAPS_MAX) throw dispatchError('maxinfo * maplen > REMOTE_CPUMAPS_MAX')
    return then(tun(conn, 'virDomainGetVcpuPinInfo').getVcpuPinInfo(u(dom), flags), (pins) => {
      const num = Math.max(0, Math.min(pins.length, ncpumaps))
      const cpumaps = Buffer.alloc(Math.max(0, ncpumaps * maplen))
      for (let i = 0; i < num; i++) writeCpumap(cpumaps, i * maplen, maplen, pins[i])
      return {cpumaps, num}
    })
  })
  on(P.DOMAIN_PIN_EMULATOR, (conn, {dom, cpumap, flags}) => tun(conn, 'virDomainPinEmulator').pinEmulator(u(dom), cpumapToList(cpumap), flags))
  on(P.DOMAIN_GET_EMULATOR_PIN_INFO, (conn, {dom, maplen, flags}) => {
    if (maplen > CPUMAPS_MAX) throw dispatchError('maplen > REMOTE_CPUMAPS_MAX')
    return then(tun(conn, 'virDomainGetEmulatorPinInfo').getEmulatorPinInfo(u(dom), flags), (cpus) => {
      const cpumaps = Buffer.alloc(Math.max(0, maplen))
      if (cpus) writeCpumap(cpumaps, 0, maplen, cpus)
      return {cpumaps, ret: cpus ? 1 : 0}
    })
  })
  on(P.NODE_GET_CPU_MAP, (conn, {need_map, need_online}) => {
    const {present, online} = tun(conn, 'virNodeGetCPUMap').nodeCpuMap()
    const cpumap = Buffer.alloc(need_map ? Math.ceil(present / 8) : 0)
    if (need_map) writeCpumap(cpumap, 0, cpumap.length, online)
    return {cpumap, online: need_online ? online.length : 0, ret: present}
  })

  // Scheduler, memory, blkio and NUMA tunables.
  on(P.DOMAIN_GET_SCHEDULER_TYPE, (conn, {dom}) => tun(conn, 'virDomainGetSchedulerType').getSchedulerType(u(dom)))
  on(P.DOMAIN_GET_SCHEDULER_PARAMETERS, (conn, {dom, nparams}) => {
    checkNparams(nparams)
    return then(tun(conn, 'virDomainGetSchedulerParameters').getSchedulerParameters(u(dom), 0), (list) => ({
      params: list.slice(0, Math.max(0, nparams)).map(paramToWire),
    }))
  })
  on(P.DOMAIN_GET_SCHEDULER_PARAMETERS_FLAGS, (conn, {dom, nparams, flags}) => {
    checkNparams(nparams)
    return then(tun(conn, 'virDomainGetSchedulerParametersFlags').getSchedulerParameters(u(dom), flags), (list) => ({
      params: paramsReply(list, Math.max(0, nparams), flags | TYPED_PARAM_STRING_OKAY).params,
    }))
  })
  on(P.DOMAIN_SET_SCHEDULER_PARAMETERS, (conn, {dom, params}) =>
    tun(conn, 'virDomainSetSchedulerParameters').setSchedulerParameters(u(dom), params.map(paramFromWire), 0),
  )
  on(P.DOMAIN_SET_SCHEDULER_PARAMETERS_FLAGS, (conn, {dom, params, flags}) =>
    tun(conn, 'virDomainSetSchedulerParametersFlags').setSchedulerParameters(u(dom), params.map(paramFromWire), flags),
  )
  on(P.DOMAIN_GET_MEMORY_PARAMETERS, (conn, {dom, nparams, flags}) => {
    checkNparams(nparams)
    return then(tun(conn, 'virDomainGetMemoryParameters').getMemoryParameters(u(dom), flags), (l) => paramsReply(l, nparams, flags))
  })
  on(P.DOMAIN_SET_MEMORY_PARAMETERS, (conn, {dom, params, flags}) =>
    tun(conn, 'virDomainSetMemoryParameters').setMemoryParameters(u(dom), params.map(paramFromWire), flags),
  )
  on(P.DOMAIN_GET_BLKIO_PARAMETERS, (conn, {dom, nparams, flags}) => {
    checkNparams(nparams)
    return then(tun(conn, 'virDomainGetBlkioParameters').getBlkioParameters(u(dom), flags), (l) => paramsReply(l, nparams, flags))
  })
  on(P.DOMAIN_SET_BLKIO_PARAMETERS, (conn, {dom, params, flags}) =>
    tun(conn, 'virDomainSetBlkioParameters').setBlkioParameters(u(dom), params.map(paramFromWire), flags),
  )
  on(P.DOMAIN_GET_NUMA_PARAMETERS, (conn, {dom, nparams, flags}) => {
    checkNparams(nparams)
    return then(tun(conn, 'virDomainGetNumaParameters').getNumaParameters(u(dom), flags), (l) => paramsReply(l, nparams, flags))
  })
  on(P.DOMAIN_SET_NUMA_PARAMETERS, (conn, {dom, params, flags}) =>
    tun(conn, 'virDomainSetNumaParameters').setNumaParameters(u(dom), params.map(paramFromWire), flags),
  )

  // Metadata.
  on(P.DOMAIN_SET_METADATA, (conn, {dom, type, metadata, key, uri, flags}) =>
    tun(conn, 'virDomainSetMetadata').setMetadata(u(dom), type, metadata, key, uri, flags),
  )
  on(P.DOMAIN_GET_METADATA, (conn, {dom, type, uri, flags}) => ({metadata: tun(conn, 'virDomainGetMetadata').getMetadata(u(dom), type, uri, flags)}))
}
