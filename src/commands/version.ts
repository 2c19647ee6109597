import {Flags} from '@oclif/core'
import {ClientCommand} from '../lib/cli/base-command.js'
import {remote} from '../lib/rpc/programs/remote.js'
import {formatVersion} from '../lib/client/host.js'

export default class Version extends ClientCommand {
  static override summary = "Show the versions of vctl, the daemon's library and the hypervisor"
  static override flags = {daemon: Flags.boolean({description: "also show the daemon's library version"})}

  async run(): Promise<{client: string; library: string; type: string; hypervisor: string; daemon?: string}> {
    const {flags} = await this.parse(Version)
    const conn = await this.connection()
    const {type} = await conn.call(remote.procs.CONNECT_GET_TYPE, undefined)
    const {hv_ver} = await conn.call(remote.procs.CONNECT_GET_VERSION, undefined)
    const out: {client: string; library: string; type: string; hypervisor: string; daemon?: string} = {
      client: this.config.version,
      library: '9.0.0',
      type,
      hypervisor: formatVersion(hv_ver),
    }
    if (flags.daemon) out.daemon = formatVersion((await conn.call(remote.procs.CONNECT_GET_LIB_VERSION, undefined)).lib_ver)
    this.log(`vctl ${out.client} (libvirt protocol ${out.library})`)
    this.log(`Using API: ${type} ${out.library}`)
    this.log(`Running hypervisor: ${type} ${out.hypervisor}`)
    if (out.daemon) this.log(`Running against daemon: ${out.daemon}`)
    return out
  }
}
