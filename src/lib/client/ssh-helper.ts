/**
 * vctl's virt-ssh-helper: what libvirt's client runs on the far side of an SSH connection
 * (`virt-ssh-helper [-r] URI`). It resolves the URI to the local daemon's UNIX socket the way vctl's
 * client does (modular daemon's socket when it exists, else libvirtd's; `-r` for the read-only one)
 * and relays bytes between that socket and its own stdin/stdout until either side closes.
 */
import {connect} from 'node:net'
import {chooseUnixSocket, parseUri} from '../uri.js'
import {VirError} from '../errors.js'

const USAGE = `Usage:
  virt-ssh-helper [-r|--readonly] URI

Options:
  -h, --help        display this help and exit
  -V, --version     output version information and exit
  -r, --readonly    open the read-only socket
`

export interface HelperIo {
  stdin: NodeJS.ReadableStream
  stdout: NodeJS.WritableStream
  stderr: NodeJS.WritableStream
  env?: NodeJS.ProcessEnv
}

/** Runs the helper; resolves with the exit status. */
export function sshHelperMain(argv: string[], io: HelperIo = process): Promise<number> {
  let readonly = false
  const rest: string[] = []
  for (const a of argv) {
    if (a === '-r' || a === '--readonly') readonly = true
    else if (a === '-h' || a === '--help') {
      io.stdout.write(USAGE)
      return Promise.resolve(0)
    } else if (a === '-V' || a === '--version') {
      io.stdout.write('virt-ssh-helper (vctl) 9.0.0\n')
      return Promise.resolve(0)
    } else rest.push(a)
  }
  if (rest.length !== 1) {
    io.stderr.write(`virt-ssh-helper: expected exactly one URI argument\n${USAGE}`)
    return Promise.resolve(1)
  }
  let path: string
  try {
    path = chooseUnixSocket(parseUri(rest[0]), {readonly, env: io.env ?? process.env}).path
  } catch (err) {
    io.stderr.write(`virt-ssh-helper: ${err instanceof VirError ? err.message : String(err)}\n`)
    return Promise.resolve(1)
  }
  return new Promise((resolve) => {
    const sock = connect({path})
    let connected = false
    sock.once('connect', () => {
      connected = true
      io.stdin.pipe(sock)
      sock.pipe(io.stdout)
    })
    sock.on('error', (err: NodeJS.ErrnoException) => {
      if (!connected) {
        const why = err.code === 'ENOENT' ? 'No such file or directory' : err.code === 'ECONNREFUSED' ? 'Connection refused' : err.message
        io.stderr.write(`virt-ssh-helper: Failed to connect socket to '${path}': ${why}\n`)
        resolve(1)
      }
    })
    // The client went away: tell the daemon (half-close), then end when the daemon closes too.
    io.stdin.once('end', () => sock.end())
    sock.once('close', () => {
      if (connected) resolve(0)
    })
  })
}
