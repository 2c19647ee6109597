/** Host huge pages and power management a hypervisor driver may answer (libvirt's nodeGetFreePages, nodeAllocPages, nodeSuspendForDuration). */

export interface HostPagesDriver {
  /** virNodeGetFreePages: free pages of each size for each cell from startCell (-1: the whole host), cell by cell. */
  nodeFreePages?(pages: number[], startCell: number, cellCount: number, flags: number): bigint[]
  /** virNodeAllocPages: sets (flag SET) or grows the huge page pools; the number of cells changed. */
  nodeAllocPages?(pageSizes: number[], pageCounts: bigint[], startCell: number, cellCount: number, flags: number): number
  /** virNodeSuspendForDuration. */
  nodeSuspendForDuration?(target: number, duration: bigint, flags: number): void
}
