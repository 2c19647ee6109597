// What the benchmarks share to run Debian's real libvirtd beside vctl: a private copy of its tree
// (config, sockets, state, logs, cache) bind-mounted over /etc/libvirt, /run/libvirt, ... inside a
// private mount namespace, so nothing of the host's libvirt is touched; and waiting for a process
// to be gone.
import {appendFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

/**
 * Prepares a private libvirt tree and the script that starts libvirtd on it: run it with
 * `unshare -m --propagation private sh SCRIPT`. `libvirtdConf` is the whole libvirtd.conf,
 * `qemuConf` is appended to qemu.conf, `virtlogd` starts a virtlogd in the namespace first.
 * The sockets end up in BASE/run.
 */
export function privateLibvirtd(prefix, {libvirtdConf, qemuConf = '', virtlogd = false}) {
  const base = mkdtempSync(join(tmpdir(), prefix))
  for (const d of ['etc', 'run', 'lib', 'log', 'cache']) mkdirSync(join(base, d))
  cpSync('/etc/libvirt', join(base, 'etc'), {recursive: true})
  if (qemuConf) appendFileSync(join(base, 'etc/qemu.conf'), qemuConf)
  writeFileSync(join(base, 'etc/libvirtd.conf'), libvirtdConf)
  const script = join(base, 'start.sh')
  writeFileSync(
    script,
    [
      `mkdir -p /run/libvirt /var/lib/libvirt /var/log/libvirt /var/cache/libvirt`,
      `mount --bind ${base}/etc /etc/libvirt`,
      `mount --bind ${base}/run /run/libvirt`,
      `mount --bind ${base}/lib /var/lib/libvirt`,
      `mount --bind ${base}/log /var/log/libvirt`,
      `mount --bind ${base}/cache /var/cache/libvirt`,
      ...(virtlogd ? [`/usr/sbin/virtlogd -d -p ${base}/virtlogd.pid`] : []),
      `exec /usr/sbin/libvirtd -p ${base}/libvirtd.pid`,
    ].join('\n'),
  )
  return {base, script}
}

/** Waits until `pid` has exited (a zombie counts as exited); false if it is still there after `ms`. */
export async function waitGone(pid, ms = 30000) {
  const end = Date.now() + ms
  for (;;) {
    let stat
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    } catch {
      return true
    }
    if (/^\d+ \(.*\) Z/s.test(stat)) return true
    if (Date.now() > end) return false
    await new Promise((r) => setTimeout(r, 25))
  }
}
