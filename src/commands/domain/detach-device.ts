import {Args, Flags} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'

export default class DomainDetachDevice extends ClientCommand {
  static override summary = 'Detach a device described by an XML file (or named by --alias) from a domain'
  static override examples = [
    '<%= config.bin %> domain detach-device web01 disk.xml',
    '<%= config.bin %> domain detach-device web01 --alias ua-data --live',
  ]
  static override args = {
    domain: Args.string({description: 'domain name, ID or UUID', required: true}),
    file: Args.string({description: 'file with the device XML (not with --alias)'}),
  }
  static override flags = {
    alias: Flags.string({description: 'alias of the device (e.g. virtio-disk1, net0, ua-data)', exclusive: ['file']}),
    live: Flags.boolean({description: 'affect the running guest'}),
    config: Flags.boolean({description: 'affect the persistent definition'}),
    persistent: Flags.boolean({description: 'affect the definition, and the running guest when it runs'}),
  }

  async run(): Promise<{name: string; file?: string; alias?: string}> {
    const {args, flags} = await this.parse(DomainDetachDevice)
    if ((args.file === undefined) === (flags.alias === undefined)) this.error('give either a device XML file or --alias', {exit: 2})
    const dom = await this.domain(args.domain)
    const dev = await import('../../lib/client/devices.js')
    const conn = await this.connection()
    const f = dev.affectFlags(dom, flags)
    if (flags.alias !== undefined) {
      await dev.detachDeviceAlias(conn, dom, flags.alias, f)
      this.log('Device detach request sent successfully')
      return {name: dom.name, alias: flags.alias}
    }
    const {readFileSync} = await import('node:fs')
    await dev.detachDevice(conn, dom, readFileSync(args.file ?? '', 'utf8'), f)
    this.log('Device detached successfully')
    return {name: dom.name, file: args.file}
  }
}
