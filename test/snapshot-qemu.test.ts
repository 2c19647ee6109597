// Internal snapshots of real QEMU guests (TCG) on qcow2 disks, through the real virsh and
// libvirt-python against virtqemud: taken running, paused and shut off; listed as a tree; reverted
// (the guest comes back in the recorded state); deleted with children; kept across a daemon
// restart; and refused as libvirt refuses them (raw disk, another domain's snapshot, read-only).
import test from 'ava'
import {existsSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {Connection} from '../src/lib/client/connection.js'
import {remote} from '../src/lib/rpc/programs/remote.js'
import {VirError} from '../src/lib/errors.js'
import {python, run, startDaemon, tempRoot, virsh, waitFor, type TestDaemon} from './helpers/daemon.js'
import {READY, countInLog, guestXml, killGuestsUnder, waitForLog} from './helpers/guest.js'

let d: TestDaemon
let U: string
const root = tempRoot('vctl-snap-')

test.before(async () => {
  d = await startDaemon(['--driver', 'qemu'], {root, keepRoot: true})
  U = d.uri('qemu')
})
test.after.always(async () => {
  killGuestsUnder(root)
  await d?.stop()
  await run('rm', ['-rf', root])
})

const disk = (file: string, format: string) =>
  `    <disk type='file' device='disk'><driver name='qemu' type='${format}'/><source file='${file}'/><target dev='vda' bus='virtio'/></disk>`

async function define(name: string, format: 'qcow2' | 'raw'): Promise<{log: string; image: string}> {
  const image = join(root, `${name}.${format}`)
  const mk = await run('qemu-img', ['create', '-f', format, image, '32M'])
  if (mk.code !== 0) throw new Error(mk.stderr)
  const log = join(root, `serial-${name}.log`)
  const file = join(root, `${name}.xml`)
  writeFileSync(file, guestXml(name, log, disk(image, format)))
  const r = await virsh(U, ['define', file])
  if (r.code !== 0) throw new Error(r.stderr)
  return {log, image}
}

async function vs(...args: string[]): Promise<string> {
  const r = await virsh(U, args, {timeout: 120000})
  if (r.code !== 0) throw new Error(`virsh ${args.join(' ')}: ${r.stderr}`)
  return r.stdout.trim()
}

async function imageSnapshots(image: string): Promise<string[]> {
  const r = await run('qemu-img', ['snapshot', '-l', '-U', image])
  return r.stdout
    .split('\n')
    .slice(2)
    .map((l) => l.split(/\s+/)[1])
    .filter(Boolean)
    .sort()
}

test.serial('a raw disk is refused as libvirt refuses it (code, domain, message)', async (t) => {
  await define('raw1', 'raw')
  const r = await virsh(U, ['snapshot-create-as', 'raw1', 'x'])
  t.not(r.code, 0)
  t.is(r.stderr.trim().split('\n')[0], 'error: unsupported configuration: internal snapshot for disk vda unsupported for storage type raw')
  const p = await python(`
import libvirt
d = libvirt.open(${JSON.stringify(U)}).lookupByName('raw1')
try:
  d.snapshotCreateXML('<domainsnapshot/>')
except libvirt.libvirtError as e:
  print(e.get_error_code(), e.get_error_domain())
`)
  t.is(p.stdout.trim(), '67 10')
  t.is((await vs('snapshot-list', 'raw1', '--name')).length, 0)
})

test.serial('snapshots of a running, a paused and a shut-off guest; tree, revert, delete, restart', async (t) => {
  t.timeout(600000) // guests booted under TCG and many processes: minutes on a loaded machine
  const {log, image} = await define('g1', 'qcow2')
  t.is(await vs('snapshot-create-as', 'g1', 'off1', '--description', 'before first boot'), 'Domain snapshot off1 created')
  await vs('start', 'g1')
  await waitForLog(log, READY, 1, 60000)
  t.is(await vs('snapshot-create-as', 'g1', 'run1'), 'Domain snapshot run1 created')
  t.is(await vs('domstate', 'g1'), 'running')
  await vs('suspend', 'g1')
  await vs('snapshot-create-as', 'g1', 'paused1')
  t.is(await vs('domstate', 'g1', '--reason'), 'paused (user)')
  await vs('resume', 'g1')
  t.deepEqual(await imageSnapshots(image), ['off1', 'paused1', 'run1'])

  t.is(await vs('snapshot-list', 'g1', '--tree'), 'off1\n  |\n  +- run1\n      |\n      +- paused1')
  t.is(await vs('snapshot-current', 'g1', '--name'), 'paused1')
  const info = await vs('snapshot-info', 'g1', 'run1')
  t.regex(info, /State: +running/)
  t.regex(info, /Parent: +off1/)
  t.regex(info, /Children: +1/)
  const xml = await vs('snapshot-dumpxml', 'g1', 'run1')
  t.regex(xml, /<state>running<\/state>/)
  t.regex(xml, /<memory snapshot='internal'\/>/)
  t.regex(xml, /<disk name='vda' snapshot='internal'\/>/)
  t.regex(xml, /<inactiveDomain type='qemu'>/)
  const file = join(root, 'run1.xml')
  writeFileSync(file, xml)
  const v = await run('virt-xml-validate', [file, 'domainsnapshot'])
  t.is(v.code, 0, v.stdout + v.stderr)
  t.regex(await vs('snapshot-dumpxml', 'g1', 'off1'), /<state>shutoff<\/state>\n {2}<parent>|<state>shutoff<\/state>\n {2}<creationTime>/)

  // Revert: the guest comes back paused or running as recorded (or as asked).
  await vs('snapshot-revert', 'g1', 'paused1')
  t.is(await vs('domstate', 'g1', '--reason'), 'paused (from snapshot)')
  await vs('snapshot-revert', 'g1', 'run1')
  t.is(await vs('domstate', 'g1', '--reason'), 'running (from snapshot)')
  await vs('snapshot-revert', 'g1', 'run1', '--paused')
  t.is(await vs('domstate', 'g1', '--reason'), 'paused (from snapshot)')
  t.is(await vs('snapshot-current', 'g1', '--name'), 'run1')
  // A shut-off snapshot stops the guest; reverting to a running one from there restores its memory
  // (the guest resumes where it was: no new boot, so no second READY line).
  await vs('snapshot-revert', 'g1', 'off1')
  t.is(await vs('domstate', 'g1', '--reason'), 'shut off (from snapshot)')
  await vs('snapshot-revert', 'g1', 'run1')
  t.is(await vs('domstate', 'g1', '--reason'), 'running (from snapshot)')
  t.is(countInLog(log, READY), 1)

  // Another domain's snapshot: not found in that domain (libvirt's NO_DOMAIN_SNAPSHOT).
  await define('g2', 'qcow2')
  const conn = await Connection.open(U)
  try {
    const g2 = await conn.lookupDomain('g2')
    const err = await t.throwsAsync(conn.call(remote.procs.DOMAIN_REVERT_TO_SNAPSHOT, {snap: {name: 'run1', dom: g2}, flags: 0}), {
      instanceOf: VirError,
    })
    t.is(err?.code, 72)
    t.is(err?.domain, 10)
    t.is(err?.message, "Domain snapshot not found: no domain snapshot with matching name 'run1'")
  } finally {
    await conn.close()
  }
  const ro = await virsh(U.replace('virtqemud-sock', 'virtqemud-sock-ro'), ['snapshot-revert', 'g1', 'off1'], {readonly: true})
  t.regex(ro.stderr, /operation forbidden: read only access prevents virDomainRevertToSnapshot/)

  // The daemon restarts: snapshots, their tree and the current one are still known.
  await d.stop()
  d = await startDaemon(['--driver', 'qemu'], {root, keepRoot: true})
  t.is(await vs('snapshot-list', 'g1', '--tree'), 'off1\n  |\n  +- run1\n      |\n      +- paused1')
  t.is(await vs('snapshot-current', 'g1', '--name'), 'run1')
  t.is(await vs('domstate', 'g1'), 'running')

  // Delete with children: metadata and the images' snapshots go.
  await vs('snapshot-delete', 'g1', 'run1', '--children')
  t.is(await vs('snapshot-list', 'g1', '--name'), 'off1')
  t.deepEqual(await imageSnapshots(image), ['off1'])
  t.is(await vs('snapshot-current', 'g1', '--name'), 'off1')

  // Shut off: qemu-img does the work; undefine is refused while snapshots exist.
  await vs('destroy', 'g1')
  await vs('snapshot-create-as', 'g1', 'off2')
  t.deepEqual(await imageSnapshots(image), ['off1', 'off2'])
  t.is(
    (await vs('snapshot-list', 'g1', '--parent'))
      .split('\n')
      .slice(2)
      .map((l) => l.trim().split(/\s+/).at(-1))
      .join(','),
    'shutoff,off1',
  )
  await vs('snapshot-delete', 'g1', 'off2')
  t.deepEqual(await imageSnapshots(image), ['off1'])
  const u = await virsh(U, ['undefine', 'g1'])
  t.regex(u.stderr, /Requested operation is not valid: cannot delete inactive domain with 1 snapshots/)
  await vs('undefine', 'g1', '--snapshots-metadata')
})

test.serial('a transient guest takes its snapshot metadata along when it stops', async (t) => {
  const image = join(root, 'tr1.qcow2')
  await run('qemu-img', ['create', '-f', 'qcow2', image, '32M'])
  const file = join(root, 'tr1.xml')
  writeFileSync(file, guestXml('tr1', join(root, 'serial-tr1.log'), disk(image, 'qcow2')))
  await vs('create', file)
  await vs('snapshot-create-as', 'tr1', 't1')
  const dir = join(root, 'var/lib/libvirt/qemu/snapshot/tr1')
  t.true(existsSync(join(dir, 't1.xml')))
  await vs('destroy', 'tr1')
  await waitFor('snapshot metadata of tr1 to go', () => !existsSync(dir), 30000)
  // Defined again under the same name: no snapshots left over.
  await vs('create', file)
  t.is(await vs('snapshot-list', 'tr1', '--name'), '')
  await vs('destroy', 'tr1')
})
