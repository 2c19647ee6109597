/** Runs virtlogd / virtlockd in this process through the real Daemon, for library-level tests. */
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {Daemon} from '../../src/lib/daemon/server.js'

export async function startServiceDaemon(
  kind: 'log' | 'lock',
  root: string,
  opts: {config?: Record<string, number>; verbose?: boolean; handleSignals?: boolean} = {},
): Promise<Daemon> {
  if (opts.config) {
    mkdirSync(join(root, 'etc/libvirt'), {recursive: true})
    const text = Object.entries(opts.config)
      .map(([k, v]) => `${k} = ${v}\n`)
      .join('')
    writeFileSync(join(root, `etc/libvirt/virt${kind}d.conf`), text)
  }
  return Daemon.start({driver: kind, mode: 'system', root, verbose: opts.verbose, handleSignals: opts.handleSignals})
}
