import {Args, Flags} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'

export default class DomainSendKey extends ClientCommand {
  static override summary = 'Press keys in a running guest, together (a key combination), like virsh send-key'
  static override description = 'Keys are Linux key names (KEY_A, KEY_LEFTCTRL, or without the KEY_ prefix) or numbers of the Linux code set.'
  static override examples = [
    '<%= config.bin %> domain send-key web01 KEY_LEFTCTRL KEY_LEFTALT KEY_DELETE',
    '<%= config.bin %> domain send-key web01 enter --hold 100 -c qemu:///system',
  ]
  static override args = {domain: Args.string({description: 'domain name, ID or UUID', required: true})}
  static override flags = {hold: Flags.integer({description: 'how long to hold the keys, in ms (default: QEMU decides)', min: 0})}
  static override strict = false

  async run(): Promise<{name: string; keys: number[]}> {
    const {args, argv, flags} = await this.parse(DomainSendKey)
    const names = argv.slice(1).map(String)
    if (names.length === 0) this.error('name at least one key')
    const {linuxKeyFromString} = await import('../../lib/keycodes.js')
    const keys = names.map((n) => {
      const k = linuxKeyFromString(n)
      if (k < 0) this.error(`invalid keycode: '${n}'`)
      return k
    })
    const dom = await this.domain(args.domain)
    const {sendKeys} = await import('../../lib/client/guest-stats.js')
    await sendKeys(await this.connection(), dom, keys, flags.hold ?? 0)
    return {name: dom.name, keys}
  }
}
