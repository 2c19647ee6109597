/** The balloon statistics period of a domain (libvirt's domainSetMemoryStatsPeriod, `virsh dommemstat --period`). */
export interface MemstatPeriodDriver {
  /** Sets `<memballoon><stats period=.../>` live (QEMU's guest-stats-polling-interval) and/or in the persistent definition. */
  setMemoryStatsPeriod?(uuid: string, period: number, flags: number): Promise<void>
}
