import {Args, Flags} from '@oclif/core'
import {readFile} from 'node:fs/promises'
import {ClientCommand} from '../../lib/cli/base-command.js'
import type {DomainRef} from '../../lib/client/domains.js'

export default class DomainDefine extends ClientCommand {
  static override summary = 'Define (but do not start) a domain from an XML file'
  static override examples = [
    '<%= config.bin %> domain define web01.xml',
    '<%= config.bin %> domain define web01.xml --validate -c qemu:///system --json',
  ]
  static override args = {file: Args.string({description: 'domain XML file', required: true})}
  static override flags = {validate: Flags.boolean({description: 'validate the XML against the schema'})}

  async run(): Promise<DomainRef> {
    const {args, flags} = await this.parse(DomainDefine)
    let xml: string
    try {
      xml = await readFile(args.file, 'utf8')
    } catch (err) {
      this.error(`failed to read file '${args.file}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {exit: 1})
    }
    const {defineDomain} = await import('../../lib/client/domain-actions.js')
    const {handleInfo} = await import('../../lib/client/domains.js')
    const dom = await defineDomain(await this.connection(), xml, {validate: flags.validate})
    this.log(`Domain '${dom.name}' defined from ${args.file}`)
    return handleInfo(dom)
  }
}
