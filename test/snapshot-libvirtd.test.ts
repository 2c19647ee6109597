// The same virsh snapshot session against vctl's virtqemud and Debian's real libvirtd 9.0 (QEMU
// driver, in a private mount namespace over temp directories, as bench/private-libvirtd.mjs runs
// it): outputs compared step by step, times and embedded domain definitions aside.
import test from 'ava'
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {run} from './helpers/daemon.js'
import {guestXml} from './helpers/guest.js'
import {sideBySide} from './helpers/side-by-side.js'

const pair = sideBySide('vctl-snapcmp-', {daemonArgs: ['--driver', 'qemu']})
const root = pair.root

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
  // Setup installs libvirtd and the suite runs as root: a missing piece is a failure, not a pass (pair.start rejects).
  const {vctl, real} = await pair.start()
  const ours = await session(vctl.uri('qemu'), join(root, 'img-vctl'))
  const theirs = await session(real.uri, join(root, 'img-libvirt'))
  const names = steps('DIR')
  if (process.env.SNAP_DEBUG) t.log(ours.map((o, i) => `## ${names[i]}\n${o}\n-- libvirtd:\n${theirs[i]}`).join('\n'))
  for (let i = 0; i < names.length; i++) t.is(ours[i], theirs[i], `step ${i}: virsh ${names[i]}`)
})
