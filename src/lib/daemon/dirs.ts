/**
 * The daemon's directory tree with libvirt's modes, created before anything else writes there, and
 * cleared of the temporary files of writers that died.
 *
 * System mode, following libvirt's own packaging (libvirt.spec) and what its daemons create at run
 * time (libvirtd makes its run dir with mode 0777 under umask 022, the QEMU capability cache 0777
 * likewise):
 *
 *   R/etc R/run R/var R/var/lib R/var/log R/var/cache   0755  (only under --root: never the host's)
 *   etc/libvirt            0755     etc/libvirt/qemu(/autostart)  0700   etc/libvirt/secrets  0700
 *   run/libvirt            0755     run/libvirt/qemu              0700   run/libvirt/secrets  0700
 *                                   run/libvirt/virtlogd, virtlockd 0700
 *   var/lib/libvirt        0755     var/lib/libvirt/qemu          0751
 *   var/log/libvirt        0700     var/log/libvirt/qemu          0700
 *   var/cache/libvirt      0711     var/cache/libvirt/qemu        0750   .../qemu/capabilities 0755
 *
 * (Debian's package ships some of these wider: /etc/libvirt/qemu and /var/log/libvirt 0755,
 * /var/cache/libvirt/qemu 0711.) Session mode: everything 0700, as libvirt's per-user daemons make it.
 *
 * Directories are created with exactly these modes whatever the umask (missing parents outside the
 * table 0755). An existing directory of the table keeps its mode, except that group/other write
 * bits the table does not grant are removed, and, on the way to the sockets (run and socket dirs),
 * the search (x) bits it grants are added: a tree left by an older, looser run is repaired and the
 * read-only socket stays reachable. Directories outside the table are never changed.
 */
import {chmodSync, mkdirSync, statSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {removeStaleTempFiles} from '../fs-atomic.js'
import {driverStateDirs, type DaemonName, type DaemonPaths} from './paths.js'

export interface DirSpec {
  path: string
  mode: number
  /** On the path to the sockets: an existing directory gets the search bits of `mode` added. */
  reach?: boolean
}

/** The drivers a daemon hosts, by their directory names. */
function hostedDirs(daemon: DaemonName): string[] {
  switch (daemon) {
    case 'libvirtd':
      return ['qemu', 'secrets']
    case 'virtqemud':
      return ['qemu']
    case 'virtsecretd':
      return ['secrets']
    case 'virtlogd':
      return ['virtlogd']
    case 'virtlockd':
      return ['virtlockd']
    default:
      return []
  }
}

/** Every directory of `daemon`'s tree with its mode, parents first. */
export function daemonDirs(paths: DaemonPaths, daemon: DaemonName): DirSpec[] {
  const out: DirSpec[] = []
  const add = (path: string, mode: number, reach = false) => {
    const seen = out.find((d) => d.path === path)
    if (seen) seen.reach ||= reach
    else out.push({path, mode, reach})
  }
  const hosted = hostedDirs(daemon)
  if (paths.mode === 'session') {
    for (const p of [paths.configDir, paths.runDir, paths.sockDir, paths.stateDir, paths.cacheDir, paths.logDir]) add(p, 0o700)
    for (const drv of hosted) {
      if (drv === 'virtlogd' || drv === 'virtlockd') add(join(paths.runDir, drv), 0o700)
      else {
        const d = driverStateDirs(paths, drv)
        const used = drv === 'qemu' ? [d.configDir, d.autostartDir, d.runDir, d.stateDir, d.logDir] : [d.configDir, d.runDir]
        for (const p of used) add(p, 0o700)
      }
    }
    return out
  }
  if (paths.root !== '') {
    for (const p of ['etc', 'run', 'var', 'var/lib', 'var/log', 'var/cache']) add(join(paths.root, p), 0o755, p === 'run')
  }
  add(paths.configDir, 0o755)
  add(paths.runDir, 0o755, true)
  add(paths.sockDir, 0o755, true)
  add(paths.stateDir, 0o755)
  add(paths.logDir, 0o700)
  add(paths.cacheDir, 0o711)
  for (const drv of hosted) {
    if (drv === 'virtlogd' || drv === 'virtlockd') {
      add(join(paths.runDir, drv), 0o700)
      continue
    }
    const d = driverStateDirs(paths, drv)
    add(d.configDir, 0o700)
    if (drv === 'qemu') add(d.autostartDir, 0o700)
    add(d.runDir, 0o700)
    if (drv === 'qemu') {
      add(d.stateDir, 0o751)
      add(d.logDir, 0o700)
      add(join(paths.cacheDir, 'qemu'), 0o750)
      add(join(paths.cacheDir, 'qemu', 'capabilities'), 0o755)
    }
  }
  return out
}

/** The mode an existing directory of the table is given (see the header). */
export function repairedMode(current: number, spec: Pick<DirSpec, 'mode' | 'reach'>): number {
  const perm = current & 0o7777
  return (perm & ~(0o022 & ~spec.mode)) | (spec.reach ? spec.mode & 0o011 : 0)
}

/** Creates a missing directory with exactly `mode` (missing parents 0755); false when it existed. */
export function createMissing(path: string, mode = 0o755): boolean {
  try {
    statSync(path)
    return false
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  const parent = dirname(path)
  if (parent !== path) createMissing(parent, 0o755)
  try {
    mkdirSync(path, {mode})
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    return false
  }
  chmodSync(path, mode) // mkdir's mode went through the umask
  return true
}

/** Creates the directory with exactly its mode, or repairs an existing one. */
export function ensureDir(spec: DirSpec): void {
  if (createMissing(spec.path, spec.mode)) return
  const st = statSync(spec.path)
  if (!st.isDirectory()) throw new Error(`${spec.path} exists and is not a directory`)
  const want = repairedMode(st.mode, spec)
  if (want !== (st.mode & 0o7777)) chmodSync(spec.path, want)
}

/**
 * Prepares a starting daemon's tree: directories with their modes, then the temporary files of
 * dead writers removed from the config, run, state and cache dirs (a few levels down). Returns the
 * removed files.
 */
export function prepareDaemonTree(paths: DaemonPaths, daemon: DaemonName): string[] {
  for (const d of daemonDirs(paths, daemon)) ensureDir(d)
  const roots = [...new Set([paths.configDir, paths.runDir, paths.stateDir, paths.cacheDir])]
  return roots.flatMap((r) => removeStaleTempFiles(r, 3))
}
