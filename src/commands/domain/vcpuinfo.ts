import {Args} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'
import type {VcpuDetails} from '../../lib/client/tuning.js'

export default class DomainVcpuinfo extends ClientCommand {
  static override summary = "Show a domain's vCPUs: host CPU, state, CPU time and affinity"
  static override examples = ['<%= config.bin %> domain vcpuinfo web01', '<%= config.bin %> domain vcpuinfo web01 --json -c qemu:///system']
  static override args = {domain: Args.string({description: 'domain name, ID or UUID', required: true})}

  async run(): Promise<Array<Omit<VcpuDetails, 'cpuTimeNs'> & {cpuTimeNs: string | null}>> {
    const {args} = await this.parse(DomainVcpuinfo)
    const dom = await this.domain(args.domain)
    const {vcpuInfo} = await import('../../lib/client/tuning.js')
    const list = await vcpuInfo(await this.connection(), dom)
    if (!this.jsonEnabled()) {
      const {table} = await import('../../lib/cli/table.js')
      this.log(
        table(
          ['VCPU', 'CPU', 'State', 'CPU time', 'Affinity'],
          list.map((v) => [
            String(v.vcpu),
            v.cpu === null ? '-' : String(v.cpu),
            v.state,
            v.cpuTimeNs === null ? '-' : `${(Number(v.cpuTimeNs) / 1e9).toFixed(1)}s`,
            v.affinity,
          ]),
        ),
      )
    }
    return list.map((v) => ({...v, cpuTimeNs: v.cpuTimeNs === null ? null : v.cpuTimeNs.toString()}))
  }
}
