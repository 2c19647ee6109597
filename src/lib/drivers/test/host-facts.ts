/** The host facts of libvirt's test driver (test:///default): fixed sysinfo, CPU times and cells, as libvirt's test driver has them. */
import {ErrorDomain, errors} from '../../errors.js'
import type {NodeCpuStat} from '../host-types.js'
import {checkFlags} from '../host-types.js'

const D = ErrorDomain.TEST

export const TEST_SYSINFO = `<sysinfo type='smbios'>
  <bios>
    <entry name='vendor'>LENOVO</entry>
    <entry name='version'>G4ETA1WW (2.61 )</entry>
    <entry name='date'>05/07/2014</entry>
    <entry name='release'>2.61</entry>
  </bios>
</sysinfo>
`

/** Free memory of the test host's two cells, in bytes. */
const CELLS_FREE = [2097152n, 4194304n]

function noFlags(flags: number, fn: string): void {
  checkFlags(flags, 0, fn, D)
}

export function testSysinfo(flags: number): string {
  noFlags(flags, 'testConnectGetSysinfo')
  return TEST_SYSINFO
}

/** The same CPU times for every CPU and for the whole host. */
export function testCpuStats(nparams: number, flags: number): {params: NodeCpuStat[]; nparams: number} {
  noFlags(flags, 'testNodeGetCPUStats')
  const all: NodeCpuStat[] = [
    {field: 'user', value: 9797400000n},
    {field: 'kernel', value: 34678723400000n},
    {field: 'idle', value: 87264900000n},
    {field: 'iowait', value: 763600000n},
  ]
  if (nparams === 0) return {params: [], nparams: all.length}
  const params = all.slice(0, nparams)
  return {params, nparams: params.length}
}

export function testCellsFree(startCell: number, maxCells: number): bigint[] {
  if (startCell >= CELLS_FREE.length) throw errors.invalidArg(D, 'Range exceeds available cells')
  return CELLS_FREE.slice(startCell, startCell + maxCells)
}
