import {ClientCommand} from '../lib/cli/base-command.js'
import type {NodeInfo} from '../lib/client/host.js'

export default class Nodeinfo extends ClientCommand {
  static override summary = "Show the host's CPU and memory"
  static override examples = ['<%= config.bin %> nodeinfo', '<%= config.bin %> nodeinfo -c qemu:///system --json']

  async run(): Promise<NodeInfo> {
    const {nodeInfo} = await import('../lib/client/host.js')
    const out = await nodeInfo(await this.connection())
    if (!this.jsonEnabled()) {
      const {keyValues} = await import('../lib/cli/table.js')
      this.log(
        keyValues([
          ['CPU model', out.cpuModel],
          ['CPU(s)', out.cpus],
          ['CPU frequency', `${out.mhz} MHz`],
          ['CPU socket(s)', out.sockets],
          ['Core(s) per socket', out.coresPerSocket],
          ['Thread(s) per core', out.threadsPerCore],
          ['NUMA cell(s)', out.numaCells],
          ['Memory size', `${out.memoryKiB} KiB`],
        ]),
      )
    }
    return out
  }
}
