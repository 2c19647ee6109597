import {Args, Flags} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'

export default class DomainAttachDisk extends ClientCommand {
  static override summary = 'Attach a disk (or cdrom) to a domain, running or defined'
  static override examples = [
    '<%= config.bin %> domain attach-disk web01 /var/lib/images/data.img vdb',
    '<%= config.bin %> domain attach-disk web01 /srv/debian.iso hdc --type cdrom --config -c qemu:///system',
  ]
  static override args = {
    domain: Args.string({description: 'domain name, ID or UUID', required: true}),
    source: Args.string({description: 'image file or block device', required: true}),
    target: Args.string({description: 'target device in the guest (vdb, hdc, ...)', required: true}),
  }
  static override flags = {
    type: Flags.string({description: 'device kind', options: ['disk', 'cdrom', 'floppy'], default: 'disk'}),
    format: Flags.string({description: 'image format (raw, qcow2, ...)'}),
    bus: Flags.string({description: 'bus (default from the target name: vd* virtio, hd* ide, sd* scsi)'}),
    mode: Flags.string({description: 'readonly', options: ['readonly']}),
    alias: Flags.string({description: "user alias (must start with 'ua-')"}),
    live: Flags.boolean({description: 'affect the running guest'}),
    config: Flags.boolean({description: 'affect the persistent definition'}),
    persistent: Flags.boolean({description: 'affect the definition, and the running guest when it runs'}),
  }

  async run(): Promise<{name: string; target: string; source: string}> {
    const {args, flags} = await this.parse(DomainAttachDisk)
    const dom = await this.domain(args.domain)
    const dev = await import('../../lib/client/devices.js')
    const {existsSync, statSync} = await import('node:fs')
    const block = existsSync(args.source) && statSync(args.source).isBlockDevice()
    let xml = dev.diskXml({
      source: args.source,
      target: args.target,
      type: block ? 'block' : 'file',
      device: flags.type,
      bus: flags.bus,
      format: flags.format,
      readonly: flags.mode === 'readonly' || flags.type === 'cdrom',
    })
    if (flags.alias) xml = xml.replace('</disk>', `  <alias name='${flags.alias}'/>\n</disk>`)
    await dev.attachDevice(await this.connection(), dom, xml, dev.affectFlags(dom, flags))
    this.log('Disk attached successfully')
    return {name: dom.name, target: args.target, source: args.source}
  }
}
