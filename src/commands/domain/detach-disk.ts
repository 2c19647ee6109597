import {Args, Flags} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'

export default class DomainDetachDisk extends ClientCommand {
  static override summary = 'Detach a disk from a domain, by target or source path'
  static override examples = [
    '<%= config.bin %> domain detach-disk web01 vdb',
    '<%= config.bin %> domain detach-disk web01 vdb --config -c qemu:///system',
  ]
  static override args = {
    domain: Args.string({description: 'domain name, ID or UUID', required: true}),
    target: Args.string({description: 'target device (vdb) or source path', required: true}),
  }
  static override flags = {
    live: Flags.boolean({description: 'affect the running guest'}),
    config: Flags.boolean({description: 'affect the persistent definition'}),
    persistent: Flags.boolean({description: 'affect the definition, and the running guest when it runs'}),
  }

  async run(): Promise<{name: string; target: string}> {
    const {args, flags} = await this.parse(DomainDetachDisk)
    const dom = await this.domain(args.domain)
    const dev = await import('../../lib/client/devices.js')
    const {serializeXml} = await import('../../lib/conf/xml.js')
    const conn = await this.connection()
    const f = dev.affectFlags(dom, flags)
    const disk = await dev.findDisk(conn, dom, args.target, f)
    await dev.detachDevice(conn, dom, serializeXml(disk), f)
    this.log('Disk detached successfully')
    return {name: dom.name, target: args.target}
  }
}
