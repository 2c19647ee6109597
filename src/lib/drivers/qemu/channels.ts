/**
 * Unix channels the daemon owns (the guest agent's org.qemu.guest_agent.0 and any other virtio
 * channel given without a path): QEMU listens on them in a directory of the driver's run dir,
 * one per running domain, and the live XML names the socket as libvirt's does
 * (`<source mode='bind' path=.../>`).
 */
import * as fsp from 'node:fs/promises'
import {join} from 'node:path'

import type {DomainDef} from '../../conf/domain.js'
import {type XmlElement, attr, child, el, setAttr} from '../../conf/xml.js'
import {channelPath, elems} from './argv-devices.js'

/** The directory of a domain's channel sockets (by name, by id when a socket path would be too long). */
export function channelDirFor(runDir: string, name: string, id: number): string {
  const byName = join(runDir, 'channel', name)
  if (Buffer.byteLength(join(byName, 'org.qemu.guest_agent.0')) <= 107) return byName
  return join(runDir, 'channel', `domain-${id}`)
}

function ownedChannels(def: DomainDef): XmlElement[] {
  return elems(def, 'channel').filter((c) => attr(c, 'type') === 'unix' && attr(child(c, 'source'), 'path') === undefined)
}

/** Creates the (empty) channel directory when the domain has channels the daemon owns. */
export async function prepareChannelDir(def: DomainDef, dir: string): Promise<void> {
  if (ownedChannels(def).length === 0) return
  await fsp.rm(dir, {recursive: true, force: true})
  await fsp.mkdir(dir, {recursive: true, mode: 0o700})
}

/** Writes the socket paths into the live definition. */
export function fillChannelPaths(def: DomainDef, dir: string): void {
  for (const c of ownedChannels(def)) {
    const path = channelPath(c, dir)
    let src = child(c, 'source')
    if (src === undefined) {
      src = el('source')
      c.children.unshift(src)
    }
    setAttr(src, 'mode', 'bind')
    setAttr(src, 'path', path)
  }
}
