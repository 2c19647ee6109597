import {Args, Flags} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'

export default class DomainSetmem extends ClientCommand {
  static override summary = "Change a domain's memory (the balloon target of a running guest), or with --max its maximum"
  static override examples = [
    '<%= config.bin %> domain setmem web01 512M',
    '<%= config.bin %> domain setmem web01 1G --config',
    '<%= config.bin %> domain setmem web01 2G --max --config -c qemu:///system',
  ]
  static override args = {
    domain: Args.string({description: 'domain name, ID or UUID', required: true}),
    size: Args.string({description: 'size: a number of KiB, or with a suffix K, M, G, T', required: true}),
  }
  static override flags = {
    live: Flags.boolean({description: 'change the running guest'}),
    config: Flags.boolean({description: 'change the persistent definition'}),
    max: Flags.boolean({description: 'change the maximum memory instead'}),
  }

  async run(): Promise<{name: string; kib: string; maximum: boolean}> {
    const {args, flags} = await this.parse(DomainSetmem)
    const m = /^(\d+)\s*([KMGT]i?B?)?$/i.exec(args.size.trim())
    if (!m) this.error(`invalid size '${args.size}'`)
    const shift = {'': 0n, k: 0n, m: 10n, g: 20n, t: 30n}[(m[2] ?? '').charAt(0).toLowerCase() as '' | 'k' | 'm' | 'g' | 't']
    const kib = BigInt(m[1]) << shift
    const dom = await this.domain(args.domain)
    const {setMemory, affectFlags} = await import('../../lib/client/tuning.js')
    await setMemory(await this.connection(), dom, kib, affectFlags(flags), flags.max)
    this.log(`Domain '${dom.name}' ${flags.max ? 'maximum ' : ''}memory set to ${kib} KiB`)
    return {name: dom.name, kib: kib.toString(), maximum: flags.max}
  }
}
