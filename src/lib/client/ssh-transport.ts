/**
 * The client side of libvirt's SSH transport (`driver+ssh://[user@]host[:port]/path`): runs `ssh`
 * with the options libvirt's remote driver gives it (port, login, keyfile, no_tty, no_verify,
 * known_hosts) and, on the far side, the command libvirt runs there: `virt-ssh-helper URI` when it
 * exists, else `nc -U SOCKET` (proxy=auto), or only one of them (proxy=netcat / proxy=native). The
 * RPC stream then runs over one end of a socketpair whose other end is ssh's stdin and stdout.
 */
import {spawn} from 'node:child_process'
import {closeSync} from 'node:fs'
import {Socket} from 'node:net'
import {socketPair} from '../os/fdpass.js'
import {ErrorCode, ErrorDomain, VirError} from '../errors.js'
import {serverName, type ParsedUri} from '../uri.js'

/** Quotes a string for sh when it needs it (as libvirt's virBufferEscapeShell does): in single quotes, ' as '\\''. */
export function shellQuote(s: string): string {
  if (s !== '' && !/[\s"'\\$`&|;*?~<>(){}[\]#!]/.test(s)) return s
  return `'${s.replace(/'/g, `'\\''`)}'`
}

/** The socket the remote `nc` dials when the URI names none (libvirt's remote driver default). */
function remoteSocket(uri: ParsedUri, readonly: boolean): string {
  const explicit = uri.params.get('socket')
  if (explicit) return explicit
  if (uri.path === '/session') return '$XDG_RUNTIME_DIR/libvirt/libvirt-sock'
  return `/run/libvirt/libvirt-sock${readonly ? '-ro' : ''}`
}

function badArg(msg: string): VirError {
  return new VirError(ErrorCode.INVALID_ARG, ErrorDomain.REMOTE, `invalid argument: ${msg}`)
}

/** The command run on the remote host, as one argument to ssh (it passes it to the remote shell). */
export function remoteCommand(uri: ParsedUri, readonly: boolean): string {
  const netcat = uri.params.get('netcat')
  let proxy = uri.params.get('proxy') ?? 'auto'
  if (!['auto', 'netcat', 'native'].includes(proxy)) throw badArg(`Unsupported proxy '${proxy}'`)
  if (proxy === 'auto' && netcat !== undefined) proxy = 'netcat'
  if (proxy === 'native' && netcat !== undefined) throw badArg('netcat path not valid with native proxy mode')
  // Two levels of quoting: the remote login shell, then `sh -c`.
  const twice = (s: string): string => shellQuote(shellQuote(s))
  const nc = twice(netcat ?? 'nc')
  const nccmd =
    `if '${nc}' -q 2>&1 | grep "requires an argument" >/dev/null 2>&1; then ARG=-q0;else ARG=;fi;` + `'${nc}' $ARG -U ${remoteSocket(uri, readonly)}`
  const helper = `virt-ssh-helper${readonly ? ' -r ' : ' '}'${twice(serverName(uri))}'`
  if (proxy === 'netcat') return `sh -c '${nccmd}'`
  if (proxy === 'native') return `sh -c '${helper}'`
  return `sh -c 'which virt-ssh-helper 1>/dev/null 2>&1; if test $? = 0; then     ${helper}; else    ${nccmd}; fi'`
}

/** ssh's argument vector for a URI (without the binary, which is `?command=` or `ssh`). */
export function sshArgs(uri: ParsedUri, readonly: boolean): string[] {
  const args: string[] = []
  if (uri.port !== undefined) args.push('-p', String(uri.port))
  if (uri.user) args.push('-l', uri.user)
  const keyfile = uri.params.get('keyfile')
  if (keyfile) args.push('-i', keyfile)
  args.push('-T', '-e', 'none')
  if (uri.params.get('no_tty') === '1') args.push('-o', 'BatchMode=yes')
  if (uri.params.get('no_verify') === '1') args.push('-o', 'StrictHostKeyChecking=no')
  const knownHosts = uri.params.get('known_hosts')
  if (knownHosts) args.push('-o', `UserKnownHostsFile=${knownHosts}`)
  args.push('--', uri.host || 'localhost', remoteCommand(uri, readonly))
  return args
}

/**
 * Starts ssh and returns the local end of the socketpair the RPC client talks over. ssh's stderr
 * is passed through (prompts, host-key warnings); if ssh exits before the first reply, the socket
 * closes and the client reports the end of file as libvirt's does.
 */
export function connectSsh(uri: ParsedUri, readonly: boolean): Socket {
  const [local, remote] = socketPair()
  const binary = uri.params.get('command') ?? 'ssh'
  const child = spawn(binary, sshArgs(uri, readonly), {stdio: [remote, remote, 'inherit']})
  closeSync(remote)
  const socket = new Socket({fd: local, readable: true, writable: true})
  child.once('error', (err) => {
    socket.destroy(new VirError(ErrorCode.SYSTEM_ERROR, ErrorDomain.RPC, `Cannot run ${binary}: ${err.message}`))
  })
  // The connection ends with ssh: closing the socket makes ssh see end of file and exit.
  socket.once('close', () => {
    if (child.exitCode === null) child.kill('SIGTERM')
  })
  child.unref()
  return socket
}
