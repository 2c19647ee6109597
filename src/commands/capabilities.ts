import {ClientCommand} from '../lib/cli/base-command.js'

export default class Capabilities extends ClientCommand {
  static override summary = "Print the host's capabilities XML"
  static override examples = [
    '<%= config.bin %> capabilities',
    '<%= config.bin %> capabilities -c qemu:///system > caps.xml',
    '<%= config.bin %> capabilities --json',
  ]

  async run(): Promise<{capabilities: string}> {
    const {capabilities} = await import('../lib/client/host.js')
    const xml = await capabilities(await this.connection())
    this.log(xml.trimEnd())
    return {capabilities: xml}
  }
}
