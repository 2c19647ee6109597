/** Creates the network driver for a daemon: its directories (libvirt's layout) and the default network. */
import {readdirSync, readlinkSync, statSync} from 'node:fs'
import {join} from 'node:path'

import type {DriverDirs, LogSink} from '../types.js'
import {ensureDefaultNetwork} from './default-net.js'
import {BridgeNetworkDriver} from './driver.js'

export interface NetworkSetupPaths {
  mode: 'system' | 'session'
  root: string
  configDir: string
  runDir: string
  stateDir: string
  logDir: string
}

/** Where libvirt keeps its networks: /etc/libvirt/qemu/networks, /run/libvirt/network, /var/lib/libvirt/network. */
export function networkDirs(p: NetworkSetupPaths): DriverDirs {
  const configDir = join(p.configDir, 'qemu', 'networks')
  return {
    configDir,
    autostartDir: join(configDir, 'autostart'),
    runDir: join(p.runDir, 'network'),
    stateDir: join(p.stateDir, 'network'),
    logDir: join(p.logDir, 'network'),
  }
}

/**
 * Whether this process runs in a network namespace other than the host's: a named one (`ip netns
 * exec`: /run/netns/NAME is the same namespace), or one other than init's where init's is readable.
 */
export function inOwnNetns(): boolean {
  let self
  try {
    self = statSync('/proc/self/ns/net')
  } catch {
    return false
  }
  try {
    for (const f of readdirSync('/run/netns')) {
      const st = statSync(join('/run/netns', f))
      if (st.ino === self.ino && st.dev === self.dev) return true
    }
  } catch {
    /* no named namespaces */
  }
  try {
    return readlinkSync('/proc/self/ns/net') !== readlinkSync('/proc/1/ns/net')
  } catch {
    return false
  }
}

export async function setupNetworkDriver(o: {paths: NetworkSetupPaths; log: LogSink}): Promise<BridgeNetworkDriver> {
  const driver = await BridgeNetworkDriver.create({
    dirs: networkDirs(o.paths),
    log: o.log,
    mode: o.paths.mode,
    // VCTL_ALLOW_NETWORKS=1: the caller vouches that this namespace is not the host's (e.g. `unshare -n`).
    hostNetworkAllowed: o.paths.root === '' || process.env.VCTL_ALLOW_NETWORKS === '1' || inOwnNetns(),
  })
  if (o.paths.mode === 'system') await ensureDefaultNetwork(driver, o.log)
  return driver
}
