/**
 * Debian's real libvirtd 9.0 (QEMU driver) for side-by-side tests: its own /etc/libvirt, /run/libvirt,
 * /var/lib/libvirt, /var/log/libvirt and /var/cache/libvirt bind-mounted from a temp dir in a private
 * mount namespace, QEMU run as root, its own virtlogd. Nothing of the host's libvirt is touched.
 */
import {spawn} from 'node:child_process'
import {appendFileSync, cpSync, existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {isRunning, run, tempRoot, waitExit, waitFor} from './daemon.js'
import {killGuestsUnder} from './guest.js'

export interface RealLibvirtd {
  /** qemu+unix URI of its read-write socket. */
  uri: string
  /** The temp dir everything of this daemon lives under (guests' QEMU command lines mention it). */
  base: string
  stop(): Promise<void>
}

export const canRunLibvirtd = process.getuid?.() === 0 && existsSync('/usr/sbin/libvirtd') && existsSync('/usr/bin/unshare')

/**
 * Throws (failing the calling test or hook) unless the real libvirtd can run here. Setup installs it
 * (scripts/install-system-deps.sh) and the suite runs as root: its absence is a defect, never a pass.
 */
export function requireRealLibvirtd(): void {
  if (!canRunLibvirtd)
    throw new Error('the real libvirtd cannot run here: needs root, /usr/sbin/libvirtd and /usr/bin/unshare (scripts/install-system-deps.sh)')
}

export interface RealLibvirtdOptions {
  qemuConf?: string
  libvirtdConf?: string
  hideKvm?: boolean
}

/** Starts the real libvirtd; `qemuConf` lines are appended to its qemu.conf, `libvirtdConf` to its libvirtd.conf. */
export async function startRealLibvirtd(opts: RealLibvirtdOptions = {}): Promise<RealLibvirtd> {
  requireRealLibvirtd()
  const base = tempRoot('vctl-real-libvirtd-')
  for (const x of ['etc', 'run', 'lib', 'log', 'cache']) mkdirSync(join(base, x), {recursive: true})
  cpSync('/etc/libvirt', join(base, 'etc'), {recursive: true})
  appendFileSync(join(base, 'etc/qemu.conf'), `\nuser = "root"\ngroup = "root"\n${opts.qemuConf ?? ''}\n`)
  writeFileSync(join(base, 'etc/libvirtd.conf'), `auth_unix_rw = "none"\nauth_unix_ro = "none"\n${opts.libvirtdConf ?? ''}\n`)
  const mounts = ['etc:/etc/libvirt', 'run:/run/libvirt', 'lib:/var/lib/libvirt', 'log:/var/log/libvirt', 'cache:/var/cache/libvirt']
  const script = join(base, 'start.sh')
  writeFileSync(
    script,
    [
      'mkdir -p /run/libvirt /var/lib/libvirt /var/log/libvirt /var/cache/libvirt',
      // hideKvm: a /dev without kvm (the rest bound from the real one), so that libvirtd sees TCG only, as vctl does on a host
      // without vmx/svm. (A fake /dev/kvm makes libvirtd re-probe QEMU on every call; the host CPU then lacks what only KVM reports.)
      ...(opts.hideKvm && existsSync('/dev/kvm')
        ? [
            `mkdir -p ${base}/olddev && mount --rbind /dev ${base}/olddev && mount -t tmpfs -o mode=755 vctl-dev /dev`,
            `for e in ${base}/olddev/*; do n=\${e##*/}; [ "$n" = kvm ] && continue; if [ -L "$e" ]; then cp -P "$e" /dev/; ` +
              `elif [ -d "$e" ]; then mkdir -p "/dev/$n" && mount --rbind "$e" "/dev/$n"; else touch "/dev/$n" && mount --bind "$e" "/dev/$n"; fi; done`,
          ]
        : []),
      ...mounts.map((m) => `mount --bind ${base}/${m.split(':')[0]} ${m.split(':')[1]}`),
      `/usr/sbin/virtlogd -d -p ${base}/virtlogd.pid`,
      `exec /usr/sbin/libvirtd -p ${base}/libvirtd.pid`,
    ].join('\n'),
  )
  const child = spawn('unshare', ['-m', '--propagation', 'private', 'sh', script], {stdio: 'ignore', detached: true})
  child.unref()
  const pid = child.pid
  const uri = `qemu+unix:///system?socket=${base}/run/libvirt-sock`
  await waitFor('real libvirtd socket', () => existsSync(join(base, 'run/libvirt-sock')), 60000)
  await waitFor('real libvirtd answering', async () => (await run('virsh', ['-c', uri, 'version'])).code === 0, 60000)
  return {
    uri,
    base,
    async stop() {
      // QEMU's command lines name paths inside the namespace (not `base`): ask libvirtd to destroy them first.
      const list = await run('virsh', ['-c', uri, 'list', '--name'], {timeout: 15000})
      for (const name of list.stdout.split('\n').filter(Boolean)) await run('virsh', ['-c', uri, 'destroy', name], {timeout: 15000})
      killGuestsUnder(base)
      const pids = pid === undefined ? [] : [pid]
      try {
        pids.push(Number(readFileSync(join(base, 'virtlogd.pid'), 'utf8')))
      } catch {
        // virtlogd never started
      }
      for (const p of pids) {
        if (!isRunning(p)) continue
        process.kill(p, 'SIGTERM')
        if (!(await waitExit(p, 10000))) process.kill(p, 'SIGKILL')
      }
      await run('rm', ['-rf', base])
    },
  }
}
