/**
 * A private sshd for the SSH-transport tests: host key, client key and authorized_keys generated
 * into DIR, run with its own config on its own port inside a network namespace the test owns and a
 * private mount namespace where /run is a tmpfs (sshd's privilege-separation directory /run/sshd)
 * and /run/libvirt is the vctl daemon's socket directory. With `helper`, vctl's virt-ssh-helper
 * (through a wrapper that logs its arguments to DIR/helper.log) is bind-mounted over
 * /usr/bin/virt-ssh-helper in that namespace, so the remote side runs vctl's and not Debian's.
 */
import {spawn, type ChildProcess} from 'node:child_process'
import {chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {ROOT_DIR, run, waitFor} from './daemon.js'

export interface Sshd {
  dir: string
  port: number
  /** The client's private key (the URI's keyfile=). */
  key: string
  helperLog: string
  child: ChildProcess
}

export async function startSshd(dir: string, netns: string, runLibvirt: string, port: number, helper: boolean): Promise<Sshd> {
  mkdirSync(dir, {recursive: true})
  const hostKey = join(dir, 'host_ed25519')
  const key = join(dir, 'client_ed25519')
  for (const k of [hostKey, key]) {
    const r = await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', k])
    if (r.code !== 0) throw new Error(`ssh-keygen: ${r.stderr}`)
  }
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(`${key}.pub`))
  chmodSync(join(dir, 'authorized_keys'), 0o600)
  const pidFile = join(dir, 'sshd.pid')
  writeFileSync(
    join(dir, 'sshd_config'),
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      `PidFile ${pidFile}`,
      'LogLevel VERBOSE',
      '',
    ].join('\n'),
  )
  const helperLog = join(dir, 'helper.log')
  const wrapper = join(dir, 'virt-ssh-helper')
  writeFileSync(wrapper, `#!/bin/sh\necho "$@" >> '${helperLog}'\nexec '${process.execPath}' '${join(ROOT_DIR, 'bin/virt-ssh-helper')}' "$@"\n`)
  chmodSync(wrapper, 0o755)
  const script = [
    'set -e',
    'mount -t tmpfs -o mode=0755 vctl-sshd-run /run',
    'mkdir -p /run/sshd /run/libvirt',
    `mount --bind '${runLibvirt}' /run/libvirt`,
    ...(helper ? [`mount --bind '${wrapper}' /usr/bin/virt-ssh-helper`] : []),
    `exec /usr/sbin/sshd -D -e -f '${join(dir, 'sshd_config')}'`,
  ].join('\n')
  writeFileSync(join(dir, 'enter.sh'), script)
  const child = spawn('ip', ['netns', 'exec', netns, 'unshare', '-m', '--propagation', 'private', 'sh', join(dir, 'enter.sh')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let log = ''
  child.stderr?.on('data', (d: Buffer) => (log += d.toString()))
  await waitFor(`sshd on port ${port}`, () => existsSync(pidFile) || child.exitCode !== null, 60000)
  if (child.exitCode !== null) throw new Error(`sshd exited: ${log}`)
  return {dir, port, key, helperLog, child}
}

/**
 * Runs a client in the namespace's network with a private tmpfs over /root, so that ssh's
 * ~/.ssh/known_hosts (written with StrictHostKeyChecking=no) does not touch the host's.
 */
export function clientInNetns(netns: string, argv: string[], env: NodeJS.ProcessEnv = {}, timeout = 120000) {
  const quoted = argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ')
  return run(
    'ip',
    ['netns', 'exec', netns, 'unshare', '-m', '--propagation', 'private', 'sh', '-c', `mount -t tmpfs vctl-home /root && exec ${quoted}`],
    {
      env: {LC_ALL: 'C', ...env},
      timeout,
    },
  )
}
