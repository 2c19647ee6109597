import {Args} from '@oclif/core'
import {readFile} from 'node:fs/promises'
import {ClientCommand} from '../../lib/cli/base-command.js'
import type {NwFilterInfo} from '../../lib/client/nwfilters.js'

export default class NwFilterDefine extends ClientCommand {
  static override summary = 'Define (or redefine) a network filter from an XML file'
  static override examples = [
    '<%= config.bin %> nwfilter define my-filter.xml',
    '<%= config.bin %> nwfilter define my-filter.xml -c nwfilter:///system --json',
  ]
  static override args = {file: Args.string({description: 'filter XML file', required: true})}

  async run(): Promise<NwFilterInfo> {
    const {args} = await this.parse(NwFilterDefine)
    let xml: string
    try {
      xml = await readFile(args.file, 'utf8')
    } catch (err) {
      this.error(`failed to read file '${args.file}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {exit: 1})
    }
    const {defineNwFilter} = await import('../../lib/client/nwfilters.js')
    const f = await defineNwFilter(await this.connection(), xml)
    this.log(`Network filter ${f.name} defined from ${args.file}`)
    return f
  }
}
