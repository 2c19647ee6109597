import {ClientCommand} from '../lib/cli/base-command.js'
import {remote} from '../lib/rpc/programs/remote.js'

export default class Hostname extends ClientCommand {
  static override summary = "Print the hypervisor host's name"

  async run(): Promise<{hostname: string}> {
    const {hostname} = await (await this.connection()).call(remote.procs.CONNECT_GET_HOSTNAME, undefined)
    this.log(hostname)
    return {hostname}
  }
}
