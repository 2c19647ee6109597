/**
 * The audio backend and the graphics (VNC, SPICE) on QEMU's command line, as libvirt 9.0 writes
 * them: one `-audiodev` per `<audio>`, VNC and SPICE listening on loopback unless told otherwise,
 * on the port chosen at start (autoport: from 5900 up). Passwords never go on the command line:
 * they are set through QMP once the monitor is up.
 */
import type {DomainDef, DomainGraphics} from '../../conf/domain.js'
import {attr, child} from '../../conf/xml.js'
import {elems} from './argv-devices.js'
import {unsupported} from './argv.js'

type Push = (...xs: string[]) => void

function listenOf(g: DomainGraphics): string {
  return g.listen ?? '127.0.0.1'
}

export function pushAudio(def: DomainDef, push: Push): void {
  for (const a of elems(def, 'audio')) {
    const type = attr(a, 'type') ?? 'none'
    if (type !== 'none' && type !== 'spice') throw unsupported(`audio type '${type}' is not supported by vctl's qemu driver`)
    push('-audiodev', `id=audio${attr(a, 'id') ?? '1'},driver=${type}`)
  }
}

/** -vnc / -spice for each graphics device; `ports[i]` is the TCP port chosen for device i. */
export function pushGraphics(def: DomainDef, push: Push, ports: readonly (number | undefined)[] | undefined): void {
  const audio = elems(def, 'audio')[0]
  const audiodev = audio !== undefined ? `,audiodev=audio${attr(audio, 'id') ?? '1'}` : ''
  def.devices.graphics.forEach((g, n) => {
    const port = ports?.[n] ?? (g.port !== undefined && g.port >= 5900 ? g.port : 5900)
    const listen = listenOf(g)
    const password = attr(g.xml, 'passwd') !== undefined
    if (g.type === 'vnc') {
      const host = listen.includes(':') ? `[${listen}]` : listen
      push('-vnc', `${host}:${port - 5900}${password ? ',password=on' : ''}${audiodev}`)
    } else if (g.type === 'spice') {
      const image = attr(child(g.xml, 'image'), 'compression')
      const parts = [`port=${port}`, `addr=${listen}`]
      if (!password) parts.push('disable-ticketing=on')
      if (image !== undefined) parts.push(`image-compression=${image}`)
      parts.push('seamless-migration=on')
      push('-spice', parts.join(','))
    } else {
      throw unsupported(`graphics type '${g.type}' is not supported by vctl's qemu driver`)
    }
  })
}
