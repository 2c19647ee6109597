import {Flags} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'
import type {DomainSummary} from '../../lib/client/domains.js'

export default class DomainList extends ClientCommand {
  static override summary = 'List domains (running ones; all with --all)'
  static override examples = [
    '<%= config.bin %> domain list',
    '<%= config.bin %> domain list --all -c qemu:///system',
    "<%= config.bin %> domain list --all --json -c 'test+unix:///default?socket=/tmp/vroot/run/libvirt/libvirt-sock'",
  ]
  static override flags = {
    all: Flags.boolean({char: 'a', description: 'include inactive domains'}),
  }

  async run(): Promise<DomainSummary[]> {
    const {flags} = await this.parse(DomainList)
    const {listDomains} = await import('../../lib/client/domains.js')
    const list = await listDomains(await this.connection(), flags.all)
    if (!this.jsonEnabled()) {
      const {table, colourState} = await import('../../lib/cli/table.js')
      this.log(
        table(
          ['Id', 'Name', 'State'],
          list.map((d) => [d.id ?? '-', d.name, colourState(d.state)]),
        ),
      )
    }
    return list
  }
}
