import {Args, Flags} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'

export default class DomainVcpupin extends ClientCommand {
  static override summary = 'Pin a vCPU of a domain to host CPUs (a cpulist such as 0-2,^1,5)'
  static override examples = ['<%= config.bin %> domain vcpupin web01 0 1', '<%= config.bin %> domain vcpupin web01 1 0-3 --config -c qemu:///system']
  static override args = {
    domain: Args.string({description: 'domain name, ID or UUID', required: true}),
    vcpu: Args.integer({description: 'vCPU number', required: true, min: 0}),
    cpulist: Args.string({description: 'host CPUs, e.g. 0-2,^1,5', required: true}),
  }
  static override flags = {
    live: Flags.boolean({description: 'change the running guest'}),
    config: Flags.boolean({description: 'change the persistent definition'}),
  }

  async run(): Promise<{name: string; vcpu: number; cpulist: string}> {
    const {args, flags} = await this.parse(DomainVcpupin)
    const dom = await this.domain(args.domain)
    const {pinVcpu, affectFlags} = await import('../../lib/client/tuning.js')
    await pinVcpu(await this.connection(), dom, args.vcpu, args.cpulist, affectFlags(flags))
    this.log(`Domain '${dom.name}' vCPU ${args.vcpu} pinned to ${args.cpulist}`)
    return {name: dom.name, vcpu: args.vcpu, cpulist: args.cpulist}
  }
}
