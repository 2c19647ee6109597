// The files a daemon leaves on disk: libvirt's directory and file modes (even when started under
// umask 000), a looser tree repaired, temp files of killed writers removed at start, and the
// read-only socket reachable by an unprivileged user while the read-write one is not.
import test, {type ExecutionContext} from 'ava'
import {chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {spawnSync} from 'node:child_process'
import {join} from 'node:path'
import {BIN, run, tempRoot, waitExit} from './helpers/daemon.js'
import {daemonDirs, repairedMode} from '../src/lib/daemon/dirs.js'
import {daemonPaths} from '../src/lib/daemon/paths.js'

/** `vctl daemon start --root ROOT -d` from a shell whose umask is 000. */
async function startUnderUmask000(root: string, extra: string[] = []): Promise<number> {
  const r = await run('sh', ['-c', `umask 000 && exec "${process.execPath}" "${BIN}" daemon start --root "${root}" -d ${extra.join(' ')}`])
  if (r.code !== 0) throw new Error(`daemon start failed: ${r.stderr}${r.stdout}`)
  return Number(readFileSync(join(root, extra.includes('--driver') ? 'run/virtsecretd.pid' : 'run/libvirtd.pid'), 'utf8'))
}

async function stop(pid: number): Promise<void> {
  process.kill(pid, 'SIGTERM')
  await waitExit(pid, 20000)
}

/** A fresh --root, removed after the test. */
function treeRoot(t: ExecutionContext): string {
  const root = tempRoot('vctl-tree-')
  t.teardown(() => rmSync(root, {recursive: true, force: true}))
  return root
}

const mode = (p: string) => statSync(p).mode & 0o7777

/** A PID that is certainly not running: a child that has exited. */
function deadPid(): number {
  return Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {encoding: 'utf8'}).stdout)
}

const EXPECTED: Record<string, number> = {
  '': 0o755,
  etc: 0o755,
  'etc/libvirt': 0o755,
  'etc/libvirt/qemu': 0o700,
  'etc/libvirt/qemu/autostart': 0o700,
  'etc/libvirt/secrets': 0o700,
  run: 0o755,
  'run/libvirt': 0o755,
  'run/libvirt/qemu': 0o700,
  'run/libvirt/secrets': 0o700,
  'run/libvirt/libvirt-sock': 0o700,
  'run/libvirt/libvirt-sock-ro': 0o777,
  'run/libvirt/libvirt-admin-sock': 0o700,
  'run/libvirtd.pid': 0o644,
  var: 0o755,
  'var/lib': 0o755,
  'var/lib/libvirt': 0o755,
  'var/lib/libvirt/qemu': 0o751,
  'var/log': 0o755,
  'var/log/libvirt': 0o700,
  'var/log/libvirt/libvirtd.log': 0o600,
  'var/log/libvirt/qemu': 0o700,
  'var/cache': 0o755,
  'var/cache/libvirt': 0o711,
  'var/cache/libvirt/qemu': 0o750,
  'var/cache/libvirt/qemu/capabilities': 0o755,
}

test('libvirtd under --root: libvirt modes though started with umask 000, and nothing world-writable', async (t) => {
  const root = treeRoot(t)
  chmodSync(root, 0o755)
  const pid = await startUnderUmask000(root)
  try {
    for (const [rel, m] of Object.entries(EXPECTED)) t.is(mode(join(root, rel)).toString(8), m.toString(8), rel)
    // Whatever else exists: no file or directory writable by group or others (the ro socket aside).
    const walk = (dir: string): string[] =>
      readdirSync(dir, {withFileTypes: true}).flatMap((e) => [join(dir, e.name), ...(e.isDirectory() ? walk(join(dir, e.name)) : [])])
    const wide = walk(root).filter((p) => !p.endsWith('libvirt-sock-ro') && mode(p) & 0o022)
    t.deepEqual(wide, [])
  } finally {
    await stop(pid)
  }
})

test('a looser tree from an older run is repaired; stale temp files go, live ones stay', async (t) => {
  const root = treeRoot(t)
  const dead = deadPid()
  const stale = [
    `etc/libvirt/qemu/.web01.xml.${dead}.0123456789ab.tmp`,
    `etc/libvirt/secrets/.0a1b.xml.${dead}.abcdef012345.tmp`,
    `run/libvirt/qemu/.web01.json.${dead}.0123456789ab.tmp`,
    `var/cache/libvirt/qemu/capabilities/.caps.json.${dead}.0123456789ab.tmp`,
  ]
  const kept = [`etc/libvirt/qemu/.web02.xml.${process.pid}.0123456789ab.tmp`, 'etc/libvirt/qemu/web01.xml.bak', 'etc/libvirt/qemu/.notes']
  for (const f of [...stale, ...kept]) {
    mkdirSync(join(root, f, '..'), {recursive: true, mode: 0o777})
    writeFileSync(join(root, f), 'x')
  }
  const loose: Record<string, number> = {
    'run/libvirt': 0o700,
    'var/log/libvirt': 0o777,
    'var/cache/libvirt/qemu/capabilities': 0o777,
    'etc/libvirt/qemu': 0o777,
  }
  for (const [rel, m] of Object.entries(loose)) {
    mkdirSync(join(root, rel), {recursive: true})
    chmodSync(join(root, rel), m)
  }
  writeFileSync(join(root, 'var/log/libvirt/libvirtd.log'), 'old\n')
  chmodSync(join(root, 'var/log/libvirt/libvirtd.log'), 0o666)
  const pid = await startUnderUmask000(root)
  try {
    for (const f of stale) t.false(existsSync(join(root, f)), f)
    for (const f of kept) t.true(existsSync(join(root, f)), f)
    t.is(mode(join(root, 'run/libvirt')), 0o711, 'the run dir is reachable again')
    t.is(mode(join(root, 'var/log/libvirt')), 0o755, 'no longer world-writable')
    t.is(mode(join(root, 'var/cache/libvirt/qemu/capabilities')), 0o755)
    t.is(mode(join(root, 'etc/libvirt/qemu')), 0o755)
    t.is(mode(join(root, 'var/log/libvirt/libvirtd.log')), 0o600)
    t.regex(readFileSync(join(root, 'var/log/libvirt/libvirtd.log'), 'utf8'), /^old\n/)
  } finally {
    await stop(pid)
  }
})

test('virtsecretd: only its own directories', async (t) => {
  const root = treeRoot(t)
  const pid = await startUnderUmask000(root, ['--driver', 'secret'])
  try {
    t.is(mode(join(root, 'etc/libvirt/secrets')), 0o700)
    t.is(mode(join(root, 'run/libvirt/secrets')), 0o700)
    t.is(mode(join(root, 'run/libvirt/virtsecretd-sock-ro')), 0o777)
    t.false(existsSync(join(root, 'etc/libvirt/qemu')))
  } finally {
    await stop(pid)
  }
})

test('an unprivileged user reaches the read-only socket with the real virsh, and not the read-write one', async (t) => {
  if (process.getuid?.() !== 0 || (await run('id', ['nobody'])).code !== 0) {
    t.pass('needs root and a nobody user')
    return
  }
  const root = treeRoot(t)
  chmodSync(root, 0o755)
  const pid = await startUnderUmask000(root)
  const asNobody = (sock: string, ro: boolean) =>
    run(
      'setpriv',
      [
        '--reuid=nobody',
        '--regid=nogroup',
        '--clear-groups',
        'virsh',
        '-c',
        `test+unix:///default?socket=${root}/run/libvirt/${sock}`,
        ...(ro ? ['-r'] : []),
        'list',
        '--all',
      ],
      {
        env: {LC_ALL: 'C', HOME: '/tmp'},
      },
    )
  try {
    const ro = await asNobody('libvirt-sock-ro', true)
    t.is(ro.code, 0, ro.stderr)
    t.regex(ro.stdout, /test\s+running/)
    const rw = await asNobody('libvirt-sock', false)
    t.not(rw.code, 0)
    t.regex(rw.stderr, /Permission denied/)
  } finally {
    await stop(pid)
  }
})

test('daemonDirs and repairedMode', (t) => {
  const paths = daemonPaths({daemon: 'virtqemud', mode: 'system', root: '/R'})
  const dirs = daemonDirs(paths, 'virtqemud')
  t.deepEqual(
    dirs.find((d) => d.path === '/R/run/libvirt'),
    {path: '/R/run/libvirt', mode: 0o755, reach: true},
  )
  t.false(dirs.some((d) => d.path.includes('secrets')))
  t.false(
    daemonDirs(daemonPaths({daemon: 'virtqemud', mode: 'system'}), 'virtqemud').some((d) => d.path === '/run' || d.path === '/etc'),
    'never the host root dirs',
  )
  const session = daemonDirs(daemonPaths({daemon: 'libvirtd', mode: 'session', env: {HOME: '/h'}}), 'libvirtd')
  t.true(session.every((d) => d.mode === 0o700))
  t.true(session.some((d) => d.path === '/h/.config/libvirt/qemu/autostart'))
  t.is(repairedMode(0o777, {mode: 0o700}), 0o755)
  t.is(repairedMode(0o700, {mode: 0o755, reach: true}), 0o711)
  t.is(repairedMode(0o755, {mode: 0o700}), 0o755, 'a Debian-style 0755 stays')
  t.is(repairedMode(0o750, {mode: 0o751}), 0o750, 'search bits are only added on the way to the sockets')
  t.is(repairedMode(0o41777, {mode: 0o755}), 0o1755)
})
