import {Args, Flags} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'

export default class DomainSetvcpus extends ClientCommand {
  static override summary = "Change a domain's number of vCPUs (hot-plugged on a running guest), or with --max its maximum"
  static override examples = [
    '<%= config.bin %> domain setvcpus web01 2',
    '<%= config.bin %> domain setvcpus web01 4 --max --config -c qemu:///system',
  ]
  static override args = {
    domain: Args.string({description: 'domain name, ID or UUID', required: true}),
    count: Args.integer({description: 'number of vCPUs', required: true, min: 1}),
  }
  static override flags = {
    live: Flags.boolean({description: 'change the running guest'}),
    config: Flags.boolean({description: 'change the persistent definition'}),
    max: Flags.boolean({description: 'change the maximum (persistent definition only)'}),
  }

  async run(): Promise<{name: string; vcpus: number; maximum: boolean}> {
    const {args, flags} = await this.parse(DomainSetvcpus)
    const dom = await this.domain(args.domain)
    const {setVcpus, affectFlags} = await import('../../lib/client/tuning.js')
    await setVcpus(await this.connection(), dom, args.count, affectFlags(flags), flags.max)
    this.log(`Domain '${dom.name}' ${flags.max ? 'maximum ' : ''}vCPUs set to ${args.count}`)
    return {name: dom.name, vcpus: args.count, maximum: flags.max}
  }
}
