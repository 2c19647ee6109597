// The real virsh against vctl's storage driver (libvirtd --root T) and, for the same commands, against
// Debian's real libvirtd 9.0 in a private mount namespace: outputs and errors must match, once the pool
// directory and the UUIDs are written the same way. The recorded output of the real libvirtd is in
// test/golden/storage-virsh.txt (re-checked on every run: what the real daemon prints must still be it).
import test from 'ava'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {startDaemon, virsh, run, type TestDaemon} from './helpers/daemon.js'
import {startRealLibvirtd} from './helpers/real-libvirtd.js'

const GOLDEN = join(import.meta.dirname, 'golden/storage-virsh.txt')

function writeInputs(dir: string): void {
  const files: Record<string, string> = {
    'notadir.xml': `<pool type='dir'><name>bad1</name><target><path>${dir}/afile</path></target></pool>\n`,
    'rbd.xml': `<pool type='rbd'><name>rb</name><source><name>rbdpool</name><host name='localhost'/></source></pool>\n`,
    'nocap.xml': '<volume><name>x1</name></volume>\n',
    'badcap.xml': '<volume><name>x2</name><capacity>1M</capacity></volume>\n',
    'noname.xml': '<volume><capacity>1048576</capacity></volume>\n',
    'badunit.xml': "<volume><name>x4</name><capacity unit='zz'>1</capacity></volume>\n",
  }
  for (const [n, c] of Object.entries(files)) writeFileSync(join(dir, n), c)
  writeFileSync(join(dir, 'afile'), 'x')
}

/** The command list: every pool-* and vol-* command, with the bad inputs of the issue. */
function script(d: string, inp: string): string {
  const P = `${d}/pool`
  return [
    `pool-define-as p1 dir --target ${P}`,
    'pool-build p1',
    'pool-start p1',
    'pool-autostart p1',
    'pool-dumpxml p1',
    'vol-create-as p1 v1 10M',
    'vol-create-as p1 q1 1G --format qcow2',
    'vol-create-as p1 q2 1G --format qcow2 --backing-vol q1 --backing-vol-format qcow2',
    'vol-list p1 --details',
    'vol-info q2 --pool p1',
    'vol-dumpxml v1 --pool p1',
    'vol-dumpxml q2 --pool p1',
    'vol-create-as p1 v1 10M',
    'vol-create-as p1 a/b 1M',
    'vol-create-as p1 .. 1M',
    'vol-create-as p1 big 100T',
    'vol-info nosuch --pool p1',
    'vol-info /nonexist',
    'vol-delete nosuch --pool p1',
    'vol-clone v1 v1c --pool p1',
    'vol-wipe v1 --pool p1',
    'vol-resize v1 20M --pool p1',
    'vol-resize v1 5M --pool p1',
    'vol-resize q1 2G --pool p1',
    'vol-resize q1 1G --pool p1 --shrink',
    'vol-resize v1 30M --pool p1 --allocate',
    'vol-list p1 --details',
    `vol-create p1 ${inp}/nocap.xml`,
    `vol-create p1 ${inp}/badcap.xml`,
    `vol-create p1 ${inp}/noname.xml`,
    `vol-create p1 ${inp}/badunit.xml`,
    `pool-define ${inp}/notadir.xml`,
    'pool-start bad1',
    'pool-undefine bad1',
    `pool-define ${inp}/rbd.xml`,
    'pool-build p1 --overwrite --no-overwrite',
    'vol-key v1 --pool p1',
    `vol-name ${P}/v1`,
    `vol-pool ${P}/v1`,
    'vol-path v1 --pool p1',
    'vol-delete q2 --pool p1',
    'vol-delete v1c --pool p1',
    'pool-info p1 --bytes',
    'pool-destroy p1',
    'pool-dumpxml p1',
    'vol-list p1',
    'pool-delete p1',
    'pool-start p1',
    'pool-undefine p1',
    'pool-refresh p1',
    'pool-destroy p1',
    `vol-delete ${P}/v1`,
    `vol-delete ${P}/q1`,
    'pool-delete p1',
    'pool-autostart p1 --disable',
    'pool-undefine p1',
    'pool-info p1',
  ].join('; ')
}

function normalize(out: string, d: string): string {
  return (
    out
      .split(d)
      .join('DIR')
      .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, 'UUID')
      .replace(/^(Capacity|Allocation|Available):.*$/gm, '$1: N')
      // A pool's sizes follow the host's filesystem; a volume's are its own and stay.
      .replace(/<pool [\s\S]*?<\/pool>/g, (pool) => pool.replace(/(<(capacity|allocation|available) unit='bytes'>)\d+/g, '$1N'))
      .replace(/<([amc]time)>[0-9.]+<\/[amc]time>/g, '<$1>T</$1>')
      .replace(/ +$/gm, '')
  )
}

async function runScript(uri: string): Promise<string> {
  const d = mkdtempSync(join(tmpdir(), 'stor-virsh-'))
  try {
    writeInputs(d)
    const r = await virsh(uri, [script(d, d)], {timeout: 120000})
    return normalize(r.stdout + r.stderr, d)
  } finally {
    rmSync(d, {recursive: true, force: true})
  }
}

let d: TestDaemon
test.before(async () => {
  d = await startDaemon()
})
test.after.always(async () => {
  await d?.stop()
})

test('pool-* and vol-* through virsh: the same output as the real libvirtd 9.0', async (t) => {
  const ours = await runScript(`qemu:///system?socket=${d.sock}`)
  const real = await startRealLibvirtd()
  let expected: string
  try {
    expected = await runScript(`qemu:///system?socket=${join(real.base, 'run/libvirt-sock')}`)
  } finally {
    await real.stop()
  }
  if (process.env.UPDATE_GOLDEN) writeFileSync(GOLDEN, expected)
  t.is(expected, readFileSync(GOLDEN, 'utf8'), 'the recorded output of libvirtd is still what it prints')
  t.is(ours, expected)
})

test('qemu:///system has the default pool (dir, autostart) under its root', async (t) => {
  const U = `qemu:///system?socket=${d.sock}`
  const r = await virsh(U, ['pool-dumpxml', 'default'])
  t.is(r.code, 0, r.stderr)
  t.true(r.stdout.includes(`<path>${d.root}/var/lib/libvirt/images</path>`))
  t.is((await virsh(U, ['pool-autostart', 'default', '--disable'])).code, 0)
  t.true((await run('virsh', ['-c', U, 'pool-info', 'default'])).stdout.includes('Autostart:      no'))
  t.is((await virsh(U, ['pool-autostart', 'default'])).code, 0)
})

test("test:///default: the volume API as libvirt's own test driver has it", async (t) => {
  const cmds = [
    'vol-list default-pool --details',
    'vol-create-as default-pool v1 10M',
    'vol-create-as default-pool q1 1G --format qcow2',
    'vol-dumpxml v1 --pool default-pool',
    'vol-dumpxml q1 --pool default-pool',
    'vol-info v1 --pool default-pool',
    'vol-path v1 --pool default-pool',
    'vol-key v1 --pool default-pool',
    'vol-clone v1 v2 --pool default-pool',
    'vol-list default-pool --details',
    'pool-info default-pool',
    'vol-wipe v1 --pool default-pool',
    'vol-resize v1 20M --pool default-pool',
    'vol-delete v2 --pool default-pool',
    'vol-name /default-pool/v1',
    'vol-pool /default-pool/v1',
    'vol-create-as default-pool v1 10M',
    'vol-info nosuch --pool default-pool',
    'vol-create-as default-pool v3 200G',
    'vol-create-as default-pool a/b 1M',
    'pool-destroy default-pool',
    'vol-list default-pool',
    'pool-start default-pool',
    'vol-list default-pool',
    'vol-info /nonexist',
    'pool-capabilities',
    'find-storage-pool-sources dir',
    'find-storage-pool-sources logical',
    'find-storage-pool-sources netfs',
    'find-storage-pool-sources-as netfs localhost',
    'find-storage-pool-sources disk',
    'vol-delete v1 --pool default-pool',
    'vol-list default-pool',
  ].join('; ')
  const libvirts = await run('virsh', ['-c', 'test:///default', cmds])
  const ours = await run('virsh', ['-c', `test+unix:///default?socket=${d.sock}`, cmds])
  t.true(libvirts.stdout.includes('Vol v2 cloned from v1'), libvirts.stdout)
  t.is(ours.stdout, libvirts.stdout)
  t.is(ours.stderr, libvirts.stderr)
  t.is(ours.code, libvirts.code)
})
