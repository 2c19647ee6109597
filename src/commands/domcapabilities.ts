import {Flags} from '@oclif/core'
import {ClientCommand} from '../lib/cli/base-command.js'

export default class DomCapabilities extends ClientCommand {
  static override summary = 'Print the domain capabilities XML: what guests this hypervisor can run'
  static override examples = [
    '<%= config.bin %> domcapabilities -c qemu:///system',
    '<%= config.bin %> domcapabilities -c qemu:///system --machine q35 --virttype qemu',
    '<%= config.bin %> domcapabilities --emulatorbin /usr/bin/qemu-system-x86_64 --arch x86_64 --json',
  ]

  static override flags = {
    emulatorbin: Flags.string({description: 'path to the emulator binary'}),
    arch: Flags.string({description: 'guest CPU architecture, e.g. x86_64'}),
    machine: Flags.string({description: 'machine type, e.g. pc or q35'}),
    virttype: Flags.string({description: 'virtualization type, e.g. qemu or kvm'}),
  }

  async run(): Promise<{capabilities: string}> {
    const {flags} = await this.parse(DomCapabilities)
    const {domainCapabilities} = await import('../lib/client/host.js')
    const xml = await domainCapabilities(await this.connection(), {
      emulator: flags.emulatorbin,
      arch: flags.arch,
      machine: flags.machine,
      virtType: flags.virttype,
    })
    this.log(xml.trimEnd())
    return {capabilities: xml}
  }
}
