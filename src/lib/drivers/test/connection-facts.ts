/**
 * The test driver's connection-level and host facts (URI, version, capabilities, node info, sysinfo,
 * CPU statistics, CPU models and baselines), fixed as libvirt's test driver has them.
 */
import {hostname} from 'node:os'
import {testCellsFree, testCpuStats, testSysinfo} from './host-facts.js'
import {cpuModelNamesFor} from '../../conf/cpu-x86.js'
import {ErrorCode, ErrorDomain, VirError} from '../../errors.js'
import {formatCapabilities} from '../../conf/capabilities.js'
import {TEST_NODE_INFO} from './defaults.js'
import {testDomainCapabilities} from './domcaps.js'
import {checkFlags} from '../host-types.js'
import {BaselineFlags, baselineCpu} from '../../conf/cpu-baseline.js'
import type {DomainCapsArgs, NodeInfo} from '../types.js'

const TEST_CAPS = formatCapabilities({
  hostUuid: 'd5b7e1b0-a9c4-4d3f-8a4e-7e0a4b1c2d3e',
  arch: 'i686',
  topology: {sockets: TEST_NODE_INFO.sockets, cores: TEST_NODE_INFO.cores, threads: TEST_NODE_INFO.threads},
  cells: [
    {id: 0, memoryKiB: 1572864, cpus: [0, 1, 2, 3, 4, 5, 6, 7]},
    {id: 1, memoryKiB: 1572864, cpus: [8, 9, 10, 11, 12, 13, 14, 15]},
  ],
  secModels: [],
  guests: [
    {
      osType: 'hvm',
      arch: 'i686',
      wordsize: 32,
      emulator: '/usr/bin/test-hv',
      machines: [{name: 'i440fx'}],
      domains: [{type: 'test'}],
      features: ['pae', 'nonpae'],
    },
    {osType: 'hvm', arch: 'x86_64', wordsize: 64, emulator: '/usr/bin/test-hv', machines: [{name: 'pc'}], domains: [{type: 'test'}]},
  ],
})

export class TestConnectionFacts {
  canonicalUri(path: string): string {
    return `test://${path}`
  }

  checkUriPath(path: string): void {
    if (path !== '/default') {
      throw new VirError(
        ErrorCode.NO_CONNECT,
        ErrorDomain.TEST,
        `no connection driver available for test://${path}: this daemon serves test:///default only`,
      )
    }
  }

  getVersion(): bigint {
    return 2n
  }

  getHostname(): string {
    return hostname()
  }

  getCapabilities(): string {
    return TEST_CAPS
  }

  getDomainCapabilities(args: DomainCapsArgs): string {
    return testDomainCapabilities(args)
  }

  getMaxVcpus(): number {
    return 32
  }

  nodeInfo(): NodeInfo {
    return TEST_NODE_INFO
  }

  nodeFreeMemory(): bigint {
    // libvirt's test driver answers its node memory figure as is (KiB reported as bytes).
    return TEST_NODE_INFO.memoryKiB
  }

  securityModel(): {model: string; doi: string} {
    return {model: '', doi: ''}
  }

  getSysinfo(flags: number): string {
    return testSysinfo(flags)
  }

  nodeCpuStats(_cpuNum: number, nparams: number, flags: number): ReturnType<typeof testCpuStats> {
    return testCpuStats(nparams, flags)
  }

  nodeCellsFreeMemory(startCell: number, maxCells: number): bigint[] {
    return testCellsFree(startCell, maxCells)
  }

  baselineCpu(xmlCpus: string[], flags: number): string {
    checkFlags(flags, BaselineFlags.EXPAND_FEATURES, 'testConnectBaselineCPU', ErrorDomain.TEST)
    return baselineCpu(xmlCpus, flags, ErrorDomain.TEST)
  }

  cpuModelNames(arch: string, flags: number): string[] {
    checkFlags(flags, 0, 'testConnectGetCPUModelNames', ErrorDomain.TEST)
    return cpuModelNamesFor(arch, ErrorDomain.TEST)
  }
}
