/** Which system-mode root a client URI's socket lives under, for `vctl socket status -c URI`. */
import {resolve} from 'node:path'
import {parseUri} from '../uri.js'

/** ROOT for `...?socket=ROOT/run/libvirt/NAME`; undefined when the URI names no such socket. */
export function rootOfSocketUri(uri: string): string | undefined {
  const sock = parseUri(uri).params.get('socket')
  return sock ? /^(.*)\/run\/libvirt\/[^/]+$/.exec(resolve(sock))?.[1] : undefined
}
