import {Args} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'
import {readFile} from 'node:fs/promises'

export default class NetworkDefine extends ClientCommand {
  static override summary = 'Define (but do not start) a virtual network from an XML file'
  static override examples = ['<%= config.bin %> network define net1.xml', '<%= config.bin %> network define net1.xml -c qemu:///system --json']
  static override args = {file: Args.string({description: 'network XML file', required: true})}

  async run(): Promise<{name: string; uuid: string}> {
    const {args} = await this.parse(NetworkDefine)
    let xml: string
    try {
      xml = await readFile(args.file, 'utf8')
    } catch (err) {
      this.error(`failed to read file '${args.file}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {exit: 1})
    }
    const {defineNetwork} = await import('../../lib/client/networks.js')
    const {uuidToString} = await import('../../lib/uuid.js')
    const net = await defineNetwork(await this.connection(), xml)
    this.log(`Network ${net.name} defined from ${args.file}`)
    return {name: net.name, uuid: uuidToString(net.uuid)}
  }
}
