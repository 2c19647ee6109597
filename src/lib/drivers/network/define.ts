/**
 * Checks and completion of a network definition before it is kept: the forward mode's rules, a
 * bridge name (virbrN) and MAC address (52:54:00:...) for bridges vctl manages, and the
 * name / UUID / bridge name conflicts with the networks already known.
 */
import {randomBytes} from 'node:crypto'

import {ErrorDomain, errors} from '../../errors.js'
import type {NetworkDef} from '../../conf/network.js'
import {linkExists} from './bridge.js'
import {defOf, managesBridge, type NetCtx, type NetObj} from './context.js'

const N = ErrorDomain.NETWORK

export function randomMac(): string {
  const b = randomBytes(3)
  return `52:54:00:${[...b].map((x) => x.toString(16).padStart(2, '0')).join(':')}`
}

function validate(def: NetworkDef): void {
  const mode = def.forward?.mode
  // libvirt accepts a bridge network without a bridge name at define time (ports then fail).
  if (mode === 'bridge' && def.ips.length) {
    throw errors.configUnsupported(N, `Unsupported <ip> element in network ${def.name} with forward mode='${mode}'`)
  }
}

/** Bridge names used by other networks. */
function bridgesInUse(ctx: NetCtx, except: string): Set<string> {
  const used = new Set<string>()
  for (const [uuid, n] of ctx.nets) {
    if (uuid === except) continue
    for (const d of [n.config, n.live]) if (d?.bridge?.name) used.add(d.bridge.name)
  }
  return used
}

/** Validates and completes `def` (bridge name, MAC) against the known networks; returns the object it replaces, if any. */
export function prepareDef(ctx: NetCtx, def: NetworkDef): NetObj | undefined {
  validate(def)
  let existing: NetObj | undefined
  for (const [uuid, n] of ctx.nets) {
    const d = defOf(n)
    if (d.name === def.name && uuid !== def.uuid) throw errors.operationFailed(N, `network '${def.name}' already exists with uuid ${uuid}`)
    if (uuid === def.uuid) {
      if (d.name !== def.name) throw errors.operationFailed(N, `network '${d.name}' is already defined with uuid ${def.uuid}`)
      existing = n
    }
  }
  if (managesBridge(def)) {
    const used = bridgesInUse(ctx, def.uuid)
    const prev = existing ? defOf(existing) : undefined
    const bridge = def.bridge ?? {stp: true, delay: 0}
    if (!bridge.name || bridge.name.includes('%d')) {
      const template = bridge.name ?? 'virbr%d'
      const keep = prev?.bridge?.name
      if (keep && !bridge.name) bridge.name = keep
      else {
        for (let i = 0; ; i++) {
          const candidate = template.replace('%d', String(i))
          if (!used.has(candidate) && !linkExists(candidate)) {
            bridge.name = candidate
            break
          }
        }
      }
    }
    def.bridge = bridge
    if (!def.mac) def.mac = prev?.mac ?? randomMac()
  }
  const name = def.bridge?.name
  if (name && bridgesInUse(ctx, def.uuid).has(name) && def.forward?.mode !== 'bridge') {
    throw errors.internal(N, `bridge name '${name}' already in use.`)
  }
  return existing
}
