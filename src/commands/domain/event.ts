import {Args, Flags} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'
import type {LifecycleRecord} from '../../lib/client/events.js'

const MS_PER_SECOND = 1000

export default class DomainEvent extends ClientCommand {
  static override summary = 'Print domain lifecycle events as they happen'
  static override examples = [
    '<%= config.bin %> domain event',
    '<%= config.bin %> domain event web01 --loop',
    '<%= config.bin %> domain event --loop --timeout 60 --json -c qemu:///system',
  ]
  static override args = {domain: Args.string({description: 'only events of this domain'})}
  static override flags = {
    timeout: Flags.integer({description: 'stop after SECS', min: 1}),
    loop: Flags.boolean({description: 'keep printing events (default: stop after the first one)'}),
  }

  async run(): Promise<LifecycleRecord[]> {
    const {args, flags} = await this.parse(DomainEvent)
    const conn = await this.connection()
    const dom = args.domain ? await this.domain(args.domain) : null
    const {watchDomainEvents} = await import('../../lib/client/events.js')
    const timeoutMs = flags.timeout ? flags.timeout * MS_PER_SECOND : undefined
    return watchDomainEvents(conn, dom, {timeoutMs, loop: flags.loop}, (e) => {
      if (!this.jsonEnabled()) this.log(`event 'lifecycle' for domain '${e.domain}': ${e.event} ${e.detail}`)
    })
  }
}
