import {Args, Flags} from '@oclif/core'
import {ClientCommand} from '../../lib/cli/base-command.js'

export default class DomainMigrate extends ClientCommand {
  static override summary = "Migrate a domain to another host (peer-to-peer: this host's daemon drives the destination)"
  static override examples = [
    '<%= config.bin %> domain migrate web01 qemu+tcp://10.0.0.2/system --live',
    '<%= config.bin %> domain migrate web01 qemu+tls://host-b/system --live --persistent --undefinesource',
    '<%= config.bin %> domain migrate web01 qemu+tcp://host-b/system --offline --persistent',
  ]
  static override args = {
    domain: Args.string({description: 'domain name or UUID', required: true}),
    desturi: Args.string({description: "the destination daemon's URI, as this host's daemon reaches it", required: true}),
  }
  static override flags = {
    live: Flags.boolean({description: 'live migration (the guest keeps running while its memory is copied)'}),
    p2p: Flags.boolean({description: 'peer-to-peer (always: accepted for virsh compatibility)'}),
    offline: Flags.boolean({description: 'move the definition only (the domain is shut off)'}),
    persistent: Flags.boolean({description: 'make the domain persistent on the destination'}),
    undefinesource: Flags.boolean({description: 'undefine the domain on the source afterwards'}),
    suspend: Flags.boolean({description: 'leave the domain paused on the destination'}),
    'auto-converge': Flags.boolean({description: "throttle the guest's CPUs until the migration converges"}),
    compressed: Flags.boolean({description: 'compress repeatedly sent memory pages (xbzrle)'}),
    'copy-storage-all': Flags.boolean({description: 'copy non-shared disks too'}),
    tunnelled: Flags.boolean({description: 'carry the migration stream over the libvirt connection'}),
    bandwidth: Flags.integer({description: 'bandwidth limit in MiB/s'}),
    migrateuri: Flags.string({description: 'where QEMU sends the stream (tcp://HOST[:PORT])'}),
  }

  async run(): Promise<{domain: string; desturi: string; seconds: number}> {
    const {args, flags} = await this.parse(DomainMigrate)
    const dom = await this.domain(args.domain)
    const conn = await this.connection()
    const {migratePeerToPeer, getJobStats, migrateFlags, migrateParams, describeJob} = await import('../../lib/client/migration.js')
    const {withJobProgress} = await import('../../lib/cli/job-progress.js')
    const f = migrateFlags({...flags, p2p: true})
    const params = migrateParams({bandwidth: flags.bandwidth, uri: flags.migrateuri})
    const start = Date.now()
    await withJobProgress(
      `Migrating '${dom.name}' to ${args.desturi}`,
      this.jsonEnabled(),
      () => migratePeerToPeer(conn, dom, args.desturi, params, f),
      async () => describeJob(await getJobStats(conn, dom)),
    )
    return {domain: dom.name, desturi: args.desturi, seconds: (Date.now() - start) / 1000}
  }
}
