import {Args, Flags} from '@oclif/core'
import {readFile} from 'node:fs/promises'
import {ClientCommand} from '../../lib/cli/base-command.js'
import {remote} from '../../lib/rpc/programs/remote.js'
import {handleInfo} from '../../lib/client/domains.js'

export default class DomainDefine extends ClientCommand {
  static override summary = 'Define (but do not start) a domain from an XML file'
  static override args = {file: Args.string({description: 'domain XML file', required: true})}
  static override flags = {validate: Flags.boolean({description: 'validate the XML against the schema'})}

  async run(): Promise<{name: string; uuid: string; id: number | null}> {
    const {args, flags} = await this.parse(DomainDefine)
    let xml: string
    try {
      xml = await readFile(args.file, 'utf8')
    } catch (err) {
      this.error(`failed to read file '${args.file}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {exit: 1})
    }
    const conn = await this.connection()
    const {dom} = flags.validate
      ? await conn.call(remote.procs.DOMAIN_DEFINE_XML_FLAGS, {xml, flags: 1})
      : await conn.call(remote.procs.DOMAIN_DEFINE_XML, {xml})
    this.log(`Domain '${dom.name}' defined from ${args.file}`)
    return handleInfo(dom)
  }
}
