/** Host memory statistics of a hypervisor driver (libvirt's nodeGetMemoryStats); see host-memory.ts. */
import type {NodeMemoryStat} from './host-memory.js'

export interface HostMemoryDriver {
  /** virNodeGetMemoryStats; absent where libvirt's driver has none (the test driver). */
  nodeMemoryStats?(cellNum: number, nparams: number, flags: number): {params: NodeMemoryStat[]; nparams: number}
}
