import {Args, Flags} from '@oclif/core'
import {readFile} from 'node:fs/promises'
import {ClientCommand} from '../../lib/cli/base-command.js'

export default class PoolDefine extends ClientCommand {
  static override summary = 'Define a storage pool from an XML file, or a dir pool from --name and --target'
  static override examples = [
    '<%= config.bin %> pool define pool.xml',
    '<%= config.bin %> pool define --name images --target /srv/images -c qemu:///system',
  ]
  static override args = {file: Args.string({description: 'pool XML file'})}
  static override flags = {
    name: Flags.string({description: 'name of a new dir pool (instead of a file)'}),
    target: Flags.string({description: 'directory of the new dir pool'}),
  }

  async run(): Promise<{name: string; uuid: string}> {
    const {args, flags} = await this.parse(PoolDefine)
    let xml: string
    if (args.file) xml = await readFile(args.file, 'utf8')
    else if (flags.name && flags.target) xml = `<pool type='dir'><name>${flags.name}</name><target><path>${flags.target}</path></target></pool>`
    else this.error('give a pool XML file, or --name and --target')
    const {definePool} = await import('../../lib/client/storage-actions.js')
    const pool = await definePool(await this.connection(), xml)
    this.log(`Pool ${pool.name} defined`)
    return pool
  }
}
