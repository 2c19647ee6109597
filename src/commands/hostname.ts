import {ClientCommand} from '../lib/cli/base-command.js'

export default class Hostname extends ClientCommand {
  static override summary = "Print the hypervisor host's name"
  static override examples = ['<%= config.bin %> hostname', '<%= config.bin %> hostname -c qemu+tls://kvm1.example.org/system']

  async run(): Promise<{hostname: string}> {
    const {hostname} = await import('../lib/client/host.js')
    const name = await hostname(await this.connection())
    this.log(name)
    return {hostname: name}
  }
}
