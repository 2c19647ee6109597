// `fs` and `disk` pools on loop devices, with the daemon in a private mount namespace (its mounts
// stay there): build, start, create volumes, boot a guest from one, destroy, delete.
import test, {type ExecutionContext} from 'ava'
import {spawn, type ChildProcess} from 'node:child_process'
import {existsSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {BIN, run, tempRoot, virsh, waitExit, waitFor} from './helpers/daemon.js'
import {READY, guestXml, qemuPidsUnder, waitForLog} from './helpers/guest.js'

/** Resolves once the child has exited (also when it already had). */
function exited(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return Promise.resolve()
  return new Promise((r) => c.once('exit', () => r()))
}

interface NsDaemon {
  root: string
  pid: number
  uri: string
}

/** `vctl daemon start --root R -d` inside `unshare -m`: the daemon (and its guests) mount privately. */
async function startNsDaemon(t: ExecutionContext): Promise<NsDaemon> {
  const root = tempRoot('vctl-pool-ns-')
  const child = spawn('unshare', ['-m', '--propagation', 'private', process.execPath, BIN, 'daemon', 'start', '--root', root, '-d'], {
    stdio: 'ignore',
  })
  await exited(child)
  const pidFile = join(root, 'run/libvirtd.pid')
  await waitFor('daemon pid file', () => existsSync(pidFile), 60000)
  const pid = Number(readFileSync(pidFile, 'utf8').trim())
  t.teardown(async () => {
    for (const q of qemuPidsUnder(root).values()) process.kill(q, 'SIGKILL')
    process.kill(pid, 'SIGTERM')
    await waitExit(pid)
    rmSync(root, {recursive: true, force: true})
  })
  return {root, pid, uri: `qemu:///system?socket=${join(root, 'run/libvirt/libvirt-sock')}`}
}

async function loopDevice(t: ExecutionContext, root: string, name: string): Promise<string> {
  const img = join(root, name)
  writeFileSync(img, '')
  await run('truncate', ['-s', '128M', img])
  const r = await run('losetup', ['-f', '--show', img])
  if (r.code !== 0) throw new Error(`losetup: ${r.stderr}`)
  const dev = r.stdout.trim()
  t.teardown(async () => {
    await run('partx', ['-d', dev])
    await run('losetup', ['-d', dev])
  })
  return dev
}

async function bootFromVolume(t: ExecutionContext, d: NsDaemon, name: string, pool: string, volume: string): Promise<void> {
  const serial = join(d.root, `${name}.serial`)
  const xml = join(d.root, `${name}.xml`)
  writeFileSync(
    xml,
    guestXml(name, serial, `<disk type='volume' device='disk'><source pool='${pool}' volume='${volume}'/><target dev='vda' bus='virtio'/></disk>`),
  )
  const s = await virsh(d.uri, ['create', xml], {timeout: 120000})
  t.is(s.code, 0, s.stderr)
  await waitForLog(serial, READY, 1, 60000)
  t.is((await virsh(d.uri, ['destroy', name])).code, 0)
}

test.serial('fs pool on a loop device: build (mkfs), start (mount), volumes, a guest, destroy (umount), delete', async (t) => {
  t.timeout(600000) // guests booted under TCG and many processes: minutes on a loaded machine
  const d = await startNsDaemon(t)
  const dev = await loopDevice(t, d.root, 'fs.img')
  const target = join(d.root, 'mnt-fs')
  const V = (...a: string[]) => virsh(d.uri, a, {timeout: 120000})
  t.is((await V('pool-define-as', 'fsp', 'fs', '--source-dev', dev, '--source-format', 'ext4', '--target', target)).code, 0)
  const b = await V('pool-build', 'fsp', '--overwrite')
  t.is(b.code, 0, b.stderr)
  t.is((await run('blkid', ['-p', '-o', 'value', '-s', 'TYPE', dev])).stdout.trim(), 'ext4')
  const again = await V('pool-build', 'fsp', '--no-overwrite')
  t.regex(again.stderr, /Storage pool already built: Device '.*' already formatted using 'ext4'/)
  t.is((await V('pool-start', 'fsp')).code, 0)
  const mounts = readFileSync(`/proc/${d.pid}/mounts`, 'utf8')
  t.true(mounts.includes(` ${target} ext4 `), 'mounted in the daemon namespace')
  t.false(readFileSync('/proc/self/mounts', 'utf8').includes(` ${target} `), 'not in ours')
  t.is((await V('vol-create-as', 'fsp', 'disk.qcow2', '32M', '--format', 'qcow2')).code, 0)
  t.regex((await V('vol-list', 'fsp')).stdout, /disk\.qcow2\s+\S*mnt-fs\/disk\.qcow2/)
  t.regex((await V('vol-list', 'fsp')).stdout, /lost\+found/, 'the filesystem is really there')
  await bootFromVolume(t, d, 'fsguest', 'fsp', 'disk.qcow2')
  t.is((await V('vol-delete', 'disk.qcow2', '--pool', 'fsp')).code, 0)
  t.is((await V('pool-destroy', 'fsp')).code, 0)
  t.false(readFileSync(`/proc/${d.pid}/mounts`, 'utf8').includes(` ${target} `), 'unmounted')
  const del = await V('pool-delete', 'fsp')
  t.is(del.code, 0, del.stderr)
  t.false(existsSync(target))
  t.is((await V('pool-undefine', 'fsp')).code, 0)
})

test.serial('disk pool on a loop device: build (label), partitions as volumes, a guest on one, delete', async (t) => {
  t.timeout(600000) // guests booted under TCG and many processes: minutes on a loaded machine
  const d = await startNsDaemon(t)
  const dev = await loopDevice(t, d.root, 'disk.img')
  const base = dev.replace('/dev/', '')
  const V = (...a: string[]) => virsh(d.uri, a, {timeout: 120000})
  t.is((await V('pool-define-as', 'dp', 'disk', '--source-dev', dev, '--target', '/dev')).code, 0)
  const b = await V('pool-build', 'dp')
  t.is(b.code, 0, b.stderr)
  t.is((await run('blkid', ['-p', '-o', 'value', '-s', 'PTTYPE', dev])).stdout.trim(), 'dos')
  const again = await V('pool-build', 'dp')
  t.regex(again.stderr, /Storage pool already built/)
  t.is((await V('pool-start', 'dp')).code, 0)
  const c1 = await V('vol-create-as', 'dp', `${base}p1`, '40M')
  t.is(c1.code, 0, c1.stderr)
  t.is((await V('vol-create-as', 'dp', `${base}p2`, '20M')).code, 0)
  const list = (await V('vol-list', 'dp', '--details')).stdout
  t.regex(list, new RegExp(`${base}p1\\s+/dev/${base}p1\\s+block\\s+40\\.00 MiB`))
  t.regex(list, new RegExp(`${base}p2\\s+/dev/${base}p2\\s+block\\s+20\\.00 MiB`))
  const parted = (await run('parted', ['-s', '-m', dev, 'unit', 'B', 'print'])).stdout
  t.regex(parted, /^1:1048576B:/m)
  // The guest's disk is the partition (empty: the guest boots from its kernel and initramfs).
  await bootFromVolume(t, d, 'diskguest', 'dp', `${base}p1`)
  t.is((await V('vol-delete', `${base}p2`, '--pool', 'dp')).code, 0)
  t.notRegex((await V('vol-list', 'dp')).stdout, new RegExp(`${base}p2`))
  t.is((await V('pool-destroy', 'dp')).code, 0)
  const del = await V('pool-delete', 'dp')
  t.is(del.code, 0, del.stderr)
  t.is((await run('blkid', ['-p', '-o', 'value', '-s', 'PTTYPE', dev])).stdout.trim(), '', 'the label is gone')
  t.is((await V('pool-undefine', 'dp')).code, 0)
})
