/**
 * The REMOTE procedures of a guest's memory, vCPUs, tuning and metadata (setmem, setvcpus, vcpuinfo,
 * vcpupin, emulatorpin, schedinfo, blkiotune, memtune, numatune, desc, metadata), in procedure-number
 * order. Layouts from libvirt's remote_protocol.x.
 */
import * as t from '../../codec.js'
import {proc} from '../../program.js'
import {domainHandle, s} from './types.js'

/** REMOTE_CPUMAP_MAX, REMOTE_VCPUINFO_MAX, REMOTE_CPUMAPS_MAX. */
export const CPUMAP_MAX = 2048
export const VCPUINFO_MAX = 16384
export const CPUMAPS_MAX = 8388608
/** REMOTE_DOMAIN_{SCHEDULER,BLKIO,MEMORY,NUMA}_PARAMETERS_MAX. */
export const TUNING_PARAMS_MAX = 16

const params = t.typedParams(TUNING_PARAMS_MAX)
const memory = t.struct({dom: domainHandle, memory: t.uhyper})
const setParams = t.struct({dom: domainHandle, params, flags: t.uint})
const getParams = t.struct({dom: domainHandle, nparams: t.int, flags: t.uint})
const getParamsRet = t.struct({params, nparams: t.int})
const cpumap = t.opaque(CPUMAP_MAX)
const cpumaps = t.opaque(CPUMAPS_MAX)
/** remote_vcpu_info. */
const vcpuInfo = t.struct({number: t.uint, state: t.int, cpu_time: t.uhyper, cpu: t.int})

export const domainTuningProcs = {
  DOMAIN_GET_VCPUS: proc(
    20,
    t.struct({dom: domainHandle, maxinfo: t.int, maplen: t.int}),
    t.struct({info: t.array(vcpuInfo, VCPUINFO_MAX), cpumaps}),
    {ro: true},
  ),
  DOMAIN_PIN_VCPU: proc(26, t.struct({dom: domainHandle, vcpu: t.uint, cpumap}), t.voidType),
  DOMAIN_SET_MAX_MEMORY: proc(30, memory, t.voidType),
  DOMAIN_SET_MEMORY: proc(31, memory, t.voidType),
  DOMAIN_SET_VCPUS: proc(32, t.struct({dom: domainHandle, nvcpus: t.uint}), t.voidType),
  DOMAIN_GET_SCHEDULER_TYPE: proc(56, t.struct({dom: domainHandle}), t.struct({type: s, nparams: t.int}), {ro: true}),
  DOMAIN_GET_SCHEDULER_PARAMETERS: proc(57, t.struct({dom: domainHandle, nparams: t.int}), t.struct({params}), {ro: true}),
  DOMAIN_SET_SCHEDULER_PARAMETERS: proc(58, t.struct({dom: domainHandle, params}), t.voidType),
  DOMAIN_SET_MEMORY_PARAMETERS: proc(197, setParams, t.voidType),
  DOMAIN_GET_MEMORY_PARAMETERS: proc(198, getParams, getParamsRet, {ro: true}),
  DOMAIN_SET_VCPUS_FLAGS: proc(199, t.struct({dom: domainHandle, nvcpus: t.uint, flags: t.uint}), t.voidType),
  DOMAIN_GET_VCPUS_FLAGS: proc(200, t.struct({dom: domainHandle, flags: t.uint}), t.struct({num: t.int}), {ro: true}),
  DOMAIN_SET_MEMORY_FLAGS: proc(204, t.struct({dom: domainHandle, memory: t.uhyper, flags: t.uint}), t.voidType),
  DOMAIN_SET_BLKIO_PARAMETERS: proc(205, setParams, t.voidType),
  DOMAIN_GET_BLKIO_PARAMETERS: proc(206, getParams, getParamsRet, {ro: true}),
  DOMAIN_SET_SCHEDULER_PARAMETERS_FLAGS: proc(219, setParams, t.voidType),
  DOMAIN_GET_SCHEDULER_PARAMETERS_FLAGS: proc(223, getParams, t.struct({params}), {ro: true}),
  DOMAIN_PIN_VCPU_FLAGS: proc(225, t.struct({dom: domainHandle, vcpu: t.uint, cpumap, flags: t.uint}), t.voidType),
  DOMAIN_GET_VCPU_PIN_INFO: proc(230, t.struct({dom: domainHandle, ncpumaps: t.int, maplen: t.int, flags: t.uint}), t.struct({cpumaps, num: t.int}), {
    ro: true,
  }),
  DOMAIN_SET_NUMA_PARAMETERS: proc(254, setParams, t.voidType),
  DOMAIN_GET_NUMA_PARAMETERS: proc(255, getParams, getParamsRet, {ro: true}),
  DOMAIN_SET_METADATA: proc(
    264,
    t.struct({dom: domainHandle, type: t.int, metadata: t.optString, key: t.optString, uri: t.optString, flags: t.uint}),
    t.voidType,
  ),
  DOMAIN_GET_METADATA: proc(265, t.struct({dom: domainHandle, type: t.int, uri: t.optString, flags: t.uint}), t.struct({metadata: s}), {ro: true}),
  DOMAIN_PIN_EMULATOR: proc(279, t.struct({dom: domainHandle, cpumap, flags: t.uint}), t.voidType),
  DOMAIN_GET_EMULATOR_PIN_INFO: proc(280, t.struct({dom: domainHandle, maplen: t.int, flags: t.uint}), t.struct({cpumaps, ret: t.int}), {ro: true}),
  NODE_GET_CPU_MAP: proc(293, t.struct({need_map: t.int, need_online: t.int, flags: t.uint}), t.struct({cpumap, online: t.uint, ret: t.int}), {
    ro: true,
  }),
}
