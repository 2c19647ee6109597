import {Args, Flags} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'

export default class DomainAttachDevice extends ClientCommand {
  static override summary = 'Attach a device described by an XML file to a domain'
  static override examples = [
    '<%= config.bin %> domain attach-device web01 disk.xml',
    '<%= config.bin %> domain attach-device web01 nic.xml --persistent',
  ]
  static override args = {
    domain: Args.string({description: 'domain name, ID or UUID', required: true}),
    file: Args.string({description: 'file with the device XML', required: true}),
  }
  static override flags = {
    live: Flags.boolean({description: 'affect the running guest'}),
    config: Flags.boolean({description: 'affect the persistent definition'}),
    persistent: Flags.boolean({description: 'affect the definition, and the running guest when it runs'}),
  }

  async run(): Promise<{name: string; file: string}> {
    const {args, flags} = await this.parse(DomainAttachDevice)
    const {readFileSync} = await import('node:fs')
    const xml = readFileSync(args.file, 'utf8')
    const dom = await this.domain(args.domain)
    const dev = await import('../../lib/client/devices.js')
    await dev.attachDevice(await this.connection(), dom, xml, dev.affectFlags(dom, flags))
    this.log('Device attached successfully')
    return {name: dom.name, file: args.file}
  }
}
