import {Args} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'
import type {DomainDetails} from '../../lib/client/domains.js'

const NS_PER_SECOND = 1e9

export default class DomainInfo extends ClientCommand {
  static override summary = 'Show basic information about a domain'
  static override examples = ['<%= config.bin %> domain info web01', '<%= config.bin %> domain info 3 -c qemu:///system --json']
  static override args = {domain: Args.string({description: 'domain name, ID or UUID', required: true})}

  async run(): Promise<DomainDetails> {
    const {args} = await this.parse(DomainInfo)
    const dom = await this.domain(args.domain)
    const {domainInfo} = await import('../../lib/client/domains.js')
    const info = await domainInfo(await this.connection(), dom)
    if (!this.jsonEnabled()) {
      const {keyValues} = await import('../../lib/cli/table.js')
      this.log(
        keyValues([
          ['Id', info.id ?? '-'],
          ['Name', info.name],
          ['UUID', info.uuid],
          ['OS Type', info.osType],
          ['State', info.state],
          ['CPU(s)', info.cpus],
          ['CPU time', `${(Number(info.cpuTimeNs) / NS_PER_SECOND).toFixed(1)}s`],
          ['Max memory', `${info.maxMemoryKiB} KiB`],
          ['Used memory', `${info.usedMemoryKiB} KiB`],
          ['Persistent', info.persistent],
          ['Autostart', info.autostart],
          ['Managed save', info.managedSave],
        ]),
      )
    }
    return info
  }
}
