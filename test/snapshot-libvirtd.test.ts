// The same virsh snapshot session against vctl's virtqemud and Debian's real libvirtd 9.0 (QEMU
// driver, in a private mount namespace over temp directories, as bench/private-libvirtd.mjs runs
// it): outputs compared step by step, times and embedded domain definitions aside.
import test from 'ava'
import {spawn} from 'node:child_process'
import {appendFileSync, cpSync, existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {isRunning, run, startDaemon, tempRoot, waitExit, waitFor, type TestDaemon} from './helpers/daemon.js'
import {guestXml, killGuestsUnder} from './helpers/guest.js'

const root = tempRoot('vctl-snapcmp-')
const canRunLibvirtd = process.getuid?.() === 0 && existsSync('/usr/sbin/libvirtd') && existsSync('/usr/bin/unshare')
let d: TestDaemon | undefined
let libvirtdPid: number | undefined
const pids: number[] = []

/** Debian's libvirtd with its own /etc/libvirt, /run/libvirt, ... under `base`. */
async function startLibvirtd(base: string): Promise<string> {
  for (const x of ['etc', 'run', 'lib', 'log', 'cache']) mkdirSync(join(base, x), {recursive: true})
  cpSync('/etc/libvirt', join(base, 'etc'), {recursive: true})
  appendFileSync(join(base, 'etc/qemu.conf'), '\nuser = "root"\ngroup = "root"\n')
  writeFileSync(join(base, 'etc/libvirtd.conf'), 'auth_unix_rw = "none"\nauth_unix_ro = "none"\n')
  const script = join(base, 'start.sh')
  const mounts = ['etc:/etc/libvirt', 'run:/run/libvirt', 'lib:/var/lib/libvirt', 'log:/var/log/libvirt', 'cache:/var/cache/libvirt']
  writeFileSync(
    script,
    [
      'mkdir -p /run/libvirt /var/lib/libvirt /var/log/libvirt /var/cache/libvirt',
      ...mounts.map((m) => `mount --bind ${base}/${m.split(':')[0]} ${m.split(':')[1]}`),
      `/usr/sbin/virtlogd -d -p ${base}/virtlogd.pid`,
      `exec /usr/sbin/libvirtd -p ${base}/libvirtd.pid`,
    ].join('\n'),
  )
  const child = spawn('unshare', ['-m', '--propagation', 'private', 'sh', script], {stdio: 'ignore', detached: true})
  child.unref()
  libvirtdPid = child.pid
  await waitFor('libvirtd socket', () => existsSync(join(base, 'run/libvirt-sock')), 60000)
  return `qemu+unix:///system?socket=${base}/run/libvirt-sock`
}

test.after.always(async () => {
  killGuestsUnder(root)
  if (d) await d.stop()
  if (libvirtdPid !== undefined) pids.push(libvirtdPid)
  try {
    pids.push(Number(readFileSync(join(root, 'libvirt/virtlogd.pid'), 'utf8')))
  } catch {
    // virtlogd never started
  }
  for (const pid of pids) {
    if (!isRunning(pid)) continue
    process.kill(pid, 'SIGTERM')
    await waitExit(pid)
  }
  await run('rm', ['-rf', root])
})

function steps(dir: string): string[] {
  return [
    `define ${dir}/g1.xml`,
    `define ${dir}/r1.xml`,
    'snapshot-create-as r1 x',
    'snapshot-create-as g1 off1 --description "before boot"',
    'list --all --with-snapshot --name',
    'list --all --without-snapshot --name',
    'start g1',
    'snapshot-create-as g1 run1',
    'suspend g1',
    'snapshot-create-as g1 p1',
    'resume g1',
    'snapshot-create-as g1 run1',
    'snapshot-list g1 --tree',
    'snapshot-list g1 --parent',
    'snapshot-list g1 --roots --name',
    'snapshot-list g1 --leaves --name',
    'snapshot-list g1 --inactive --name',
    'snapshot-list g1 --active --name',
    'snapshot-list g1 --from off1 --descendants --name',
    'snapshot-info g1 run1',
    'snapshot-current g1 --name',
    'snapshot-parent g1 p1',
    'snapshot-revert g1 p1',
    'domstate g1 --reason',
    'snapshot-revert g1 run1',
    'domstate g1 --reason',
    'snapshot-revert g1 run1 --paused',
    'domstate g1 --reason',
    'snapshot-revert g1 off1',
    'domstate g1 --reason',
    'snapshot-revert g1 nope',
    'snapshot-delete g1 run1 --children',
    'snapshot-list g1 --name',
    'snapshot-current g1 --name',
    'undefine g1',
    'snapshot-dumpxml g1 off1',
    'undefine g1 --snapshots-metadata',
    'list --all --with-snapshot --name',
  ]
}

/** Times, UUIDs and the embedded definitions differ by nature: compare the rest. */
function normalize(out: string, dir: string): string {
  return out
    .split(dir)
    .join('DIR')
    .replace(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}/g, 'TIME')
    .replace(/<creationTime>\d+<\/creationTime>/g, '<creationTime>T</creationTime>')
    .replace(/ {2}<(domain|inactiveDomain|cookie)[ >][\s\S]*?<\/\1>\n/g, '')
    .replace(/-{5,}/g, '---')
    .replace(/ +$/gm, '')
    .trim()
}

async function session(uri: string, dir: string): Promise<string[]> {
  mkdirSync(dir, {recursive: true})
  for (const [name, format] of [
    ['g1', 'qcow2'],
    ['r1', 'raw'],
  ]) {
    const image = join(dir, `${name}.img`)
    await run('qemu-img', ['create', '-f', format, image, '32M'])
    const disk = `    <disk type='file' device='disk'><driver name='qemu' type='${format}'/><source file='${image}'/><target dev='vda' bus='virtio'/></disk>`
    writeFileSync(join(dir, `${name}.xml`), guestXml(name, join(dir, `${name}.log`), disk))
  }
  const out: string[] = []
  for (const step of steps(dir)) {
    const r = await run('sh', ['-c', `virsh -c "$U" ${step} 2>&1`], {env: {U: uri, LC_ALL: 'C'}, timeout: 120000})
    out.push(normalize(r.stdout, dir))
  }
  return out
}

test('the same snapshot session against vctl and real libvirtd 9.0', async (t) => {
  // Setup installs libvirtd and the suite runs as root: a missing piece is a failure, not a pass.
  t.true(canRunLibvirtd, 'needs root, /usr/sbin/libvirtd and unshare')
  d = await startDaemon(['--driver', 'qemu'], {root: join(root, 'vctl')})
  const ours = await session(d.uri('qemu'), join(root, 'img-vctl'))
  const uri = await startLibvirtd(join(root, 'libvirt'))
  const theirs = await session(uri, join(root, 'img-libvirt'))
  const names = steps('DIR')
  if (process.env.SNAP_DEBUG) t.log(ours.map((o, i) => `## ${names[i]}\n${o}\n-- libvirtd:\n${theirs[i]}`).join('\n'))
  for (let i = 0; i < names.length; i++) t.is(ours[i], theirs[i], `step ${i}: virsh ${names[i]}`)
})
