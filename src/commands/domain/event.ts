import {Args, Flags} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'

export default class DomainEvent extends ClientCommand {
  static override summary = 'Print domain lifecycle events as they happen'
  static override args = {domain: Args.string({description: 'only events of this domain'})}
  static override flags = {
    timeout: Flags.integer({description: 'stop after SECS', min: 1}),
    loop: Flags.boolean({description: 'keep printing events (default: stop after the first one)'}),
  }

  async run(): Promise<Array<{domain: string; event: string; detail: string}>> {
    const {args, flags} = await this.parse(DomainEvent)
    const conn = await this.connection()
    const dom = args.domain ? await this.domain(args.domain) : null
    const {watchDomainEvents} = await import('../../lib/client/events.js')
    return watchDomainEvents(conn, dom, {timeoutMs: flags.timeout ? flags.timeout * 1000 : undefined, loop: flags.loop}, (e) => {
      if (!this.jsonEnabled()) this.log(`event 'lifecycle' for domain '${e.domain}': ${e.event} ${e.detail}`)
    })
  }
}
