import {ClientCommand} from '../lib/cli/base-command.js'
import {remote} from '../lib/rpc/programs/remote.js'

export default class Nodeinfo extends ClientCommand {
  static override summary = "Show the host's CPU and memory"

  async run(): Promise<Record<string, string | number>> {
    const n = await (await this.connection()).call(remote.procs.NODE_GET_INFO, undefined)
    const out = {
      cpuModel: n.model,
      cpus: n.cpus,
      mhz: n.mhz,
      sockets: n.sockets,
      coresPerSocket: n.cores,
      threadsPerCore: n.threads,
      numaCells: n.nodes,
      memoryKiB: n.memory.toString(),
    }
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
