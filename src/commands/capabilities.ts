import {ClientCommand} from '../lib/cli/base-command.js'
import {remote} from '../lib/rpc/programs/remote.js'

export default class Capabilities extends ClientCommand {
  static override summary = "Print the host's capabilities XML"

  async run(): Promise<{capabilities: string}> {
    const {capabilities} = await (await this.connection()).call(remote.procs.CONNECT_GET_CAPABILITIES, undefined)
    this.log(capabilities.trimEnd())
    return {capabilities}
  }
}
