/**
 * The daemon (src/lib/daemon/server.ts) as the built CLI runs it: bin/run.js's fast path imports
 * this file (dist/lib/cli/daemon-server.js) in place of server.ts, and it loads the daemon's one
 * CommonJS bundle, dist/lib/vendor/daemon-wrapped.js, with the V8 code cache the build wrote
 * beside it (code-cache.ts). Parsing and compiling some 1.6 MB of JavaScript is most of what a
 * socket-activated daemon would otherwise spend before it answers its first client.
 */
import {fileURLToPath} from 'node:url'
import type * as Server from '../daemon/server.js'
import {loadWrapped} from './code-cache.js'

/** dist/lib/vendor, from wherever in dist/ the bundler put this module. */
function vendorDir(): string {
  const here = fileURLToPath(import.meta.url)
  return `${here.slice(0, here.lastIndexOf('/dist/'))}/dist/lib/vendor`
}

const server = loadWrapped(`${vendorDir()}/daemon-wrapped.js`) as typeof Server

export const {Daemon, DaemonStartError} = server
