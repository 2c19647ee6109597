import {Args, Flags} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'
import type {DomainRef} from '../../lib/client/domains.js'

export default class DomainStart extends ClientCommand {
  static override summary = 'Start a defined domain'
  static override examples = [
    '<%= config.bin %> domain start web01',
    '<%= config.bin %> domain start web01 --paused',
    '<%= config.bin %> domain start 0b5e3ac4-3c4f-4b8e-9a55-0c6fd1f1e0d2 -c qemu:///system --json',
  ]
  static override args = {domain: Args.string({description: 'domain name or UUID', required: true})}
  static override flags = {paused: Flags.boolean({description: 'leave the guest paused after starting it'})}

  async run(): Promise<DomainRef> {
    const {args, flags} = await this.parse(DomainStart)
    const dom = await this.domain(args.domain)
    const {startDomain} = await import('../../lib/client/domain-actions.js')
    const {handleInfo} = await import('../../lib/client/domains.js')
    const started = await startDomain(await this.connection(), dom, {paused: flags.paused})
    this.log(`Domain '${dom.name}' started${flags.paused ? ' (paused)' : ''}`)
    return handleInfo(started)
  }
}
