/**
 * The REMOTE procedures of host facts: SMBIOS sysinfo, CPU statistics, free memory per NUMA cell,
 * CPU models, baseline and comparison, KSM memory parameters. In procedure-number order.
 */
import * as t from '../../codec.js'
import {proc} from '../../program.js'
import {s} from './types.js'

/** REMOTE_NODE_MAX_CELLS, REMOTE_CPU_BASELINE_MAX, REMOTE_NODE_CPU_STATS_MAX, REMOTE_NODE_MEMORY_PARAMETERS_MAX, REMOTE_CONNECT_CPU_MODELS_MAX */
const MAX_CELLS = 1024
const BASELINE_MAX = 256
const CPU_STATS_MAX = 16
const MEMORY_PARAMETERS_MAX = 64
const CPU_MODELS_MAX = 8192

const hvCpuArgs = {emulator: t.optString, arch: t.optString, machine: t.optString, virttype: t.optString}

export const hostProcs = {
  NODE_GET_CELLS_FREE_MEMORY: proc(101, t.struct({startCell: t.int, maxcells: t.int}), t.struct({cells: t.array(t.uhyper, MAX_CELLS)}), {ro: true}),
  CONNECT_COMPARE_CPU: proc(158, t.struct({xml: s, flags: t.uint}), t.struct({result: t.int}), {ro: true}),
  CONNECT_BASELINE_CPU: proc(162, t.struct({xmlCPUs: t.array(s, BASELINE_MAX), flags: t.uint}), t.struct({cpu: s}), {ro: true}),
  CONNECT_GET_SYSINFO: proc(203, t.struct({flags: t.uint}), t.struct({sysinfo: s}), {ro: true}),
  NODE_GET_CPU_STATS: proc(
    227,
    t.struct({cpuNum: t.int, nparams: t.int, flags: t.uint}),
    t.struct({params: t.array(t.struct({field: s, value: t.uhyper}), CPU_STATS_MAX), nparams: t.int}),
    {ro: true},
  ),
  NODE_SUSPEND_FOR_DURATION: proc(250, t.struct({target: t.uint, duration: t.uhyper, flags: t.uint}), t.voidType),
  NODE_SET_MEMORY_PARAMETERS: proc(288, t.struct({params: t.typedParams(MEMORY_PARAMETERS_MAX), flags: t.uint}), t.voidType),
  NODE_GET_MEMORY_PARAMETERS: proc(
    289,
    t.struct({nparams: t.int, flags: t.uint}),
    t.struct({params: t.typedParams(MEMORY_PARAMETERS_MAX), nparams: t.int}),
    {ro: true},
  ),
  CONNECT_GET_CPU_MODEL_NAMES: proc(
    312,
    t.struct({arch: s, need_results: t.int, flags: t.uint}),
    t.struct({models: t.array(s, CPU_MODELS_MAX), ret: t.int}),
    {ro: true},
  ),
  NODE_GET_FREE_PAGES: proc(
    340,
    t.struct({pages: t.array(t.uint, MAX_CELLS), startCell: t.int, cellCount: t.uint, flags: t.uint}),
    t.struct({counts: t.array(t.uhyper, MAX_CELLS)}),
    {ro: true},
  ),
  NODE_ALLOC_PAGES: proc(
    347,
    t.struct({pageSizes: t.array(t.uint, MAX_CELLS), pageCounts: t.array(t.uhyper, MAX_CELLS), startCell: t.int, cellCount: t.uint, flags: t.uint}),
    t.struct({ret: t.int}),
  ),
  CONNECT_COMPARE_HYPERVISOR_CPU: proc(393, t.struct({...hvCpuArgs, xmlCPU: s, flags: t.uint}), t.struct({result: t.int})),
  CONNECT_BASELINE_HYPERVISOR_CPU: proc(394, t.struct({...hvCpuArgs, xmlCPUs: t.array(s, BASELINE_MAX), flags: t.uint}), t.struct({cpu: s})),
}
