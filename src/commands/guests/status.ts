import {Command, Flags} from '@oclif/core'
import {resolve} from 'node:path'
import type {GuestsConfig} from '../../lib/systemd/guests.js'

export default class GuestsStatus extends Command {
  static override summary = "Show libvirt-guests' settings and the guests it will start again"
  static override enableJsonFlag = true
  static override examples = ['<%= config.bin %> guests status', '<%= config.bin %> guests status --json']
  static override flags = {root: Flags.string({description: 'read the configuration and state under this directory'})}

  async run(): Promise<{config: GuestsConfig & {file: string}; pending: Record<string, string[]>}> {
    const {flags} = await this.parse(GuestsStatus)
    const {loadGuestsConfig, readState} = await import('../../lib/systemd/guests.js')
    const root = flags.root ? resolve(flags.root) : ''
    let config
    try {
      config = loadGuestsConfig(root)
    } catch (err) {
      this.error((err as Error).message, {exit: 1})
    }
    const pending = Object.fromEntries(readState(root))
    if (!this.jsonEnabled()) {
      this.log(`configuration: ${config.file}`)
      this.log(`URIS=${config.uris.join(' ')} ON_BOOT=${config.onBoot} ON_SHUTDOWN=${config.onShutdown}`)
      this.log(`SHUTDOWN_TIMEOUT=${config.shutdownTimeout} PARALLEL_SHUTDOWN=${config.parallelShutdown} START_DELAY=${config.startDelay}`)
      const entries = Object.entries(pending)
      if (!entries.length) this.log('no guests to start again')
      for (const [uri, uuids] of entries)
        this.log(`${uri}: ${uuids.length} guest${uuids.length === 1 ? '' : 's'} to start again (${uuids.join(' ')})`)
    }
    return {config, pending}
  }
}
