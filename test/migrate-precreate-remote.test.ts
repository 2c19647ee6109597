/**
 * virtqemud's half of a storage migration's pre-creation: asked over the RPC protocol, virtstoraged
 * finds the pool by the disk's directory (libvirt's NO_STORAGE_POOL error when none) or by name,
 * creates the volume unless the pool has it, and deletes it again by path.
 */
import test from 'ava'
import {existsSync, mkdirSync} from 'node:fs'
import {join} from 'node:path'
import {remoteStorageVolumes} from '../src/lib/client/storage.js'
import {ErrorCode, VirError} from '../src/lib/errors.js'
import {startDaemon, virsh} from './helpers/daemon.js'

const volXml = (name: string) => `<volume><name>${name}</name><capacity>1048576</capacity><target><format type='qcow2'/></target></volume>`

test('precreateVolume and deleteVolumeByPath through virtstoraged', async (t) => {
  const d = await startDaemon(['--driver', 'storage'])
  t.teardown(() => d.stop())
  const U = `storage:///system?socket=${d.sock}`
  const dir = join(d.root, 'pool-m')
  mkdirSync(dir)
  mkdirSync(join(d.root, 'elsewhere'))
  t.is((await virsh(U, ['pool-create-as', 'm', 'dir', '--target', dir])).code, 0)
  const volumes = remoteStorageVolumes(d.sock, 'storage:///system')

  const path = await volumes.precreateVolume({dir}, 'a.qcow2', volXml('a.qcow2'), 1)
  t.is(path, join(dir, 'a.qcow2'))
  t.true(existsSync(join(dir, 'a.qcow2')))
  t.regex((await virsh(U, ['vol-list', 'm'])).stdout, /a\.qcow2/)
  // The pool has it already: nothing created.
  t.is(await volumes.precreateVolume({name: 'm'}, 'a.qcow2', volXml('a.qcow2'), 1), undefined)
  t.is(await volumes.precreateVolume({name: 'm'}, 'b.qcow2', volXml('b.qcow2'), 0), join(dir, 'b.qcow2'))

  const err = await t.throwsAsync(volumes.precreateVolume({dir: join(d.root, 'elsewhere')}, 'c.qcow2', volXml('c.qcow2'), 0), {instanceOf: VirError})
  t.is(err?.code, ErrorCode.NO_STORAGE_POOL)
  t.is(err?.message, `Storage pool not found: no storage pool with matching target path '${join(d.root, 'elsewhere')}'`)
  t.false(existsSync(join(d.root, 'elsewhere', 'c.qcow2')))
  // A path with doubled or trailing slashes is compared sanitized; the message shows both (as virFileSanitizePath).
  const slashes = `${dir.replace('/pool-m', '//pool-m')}/`
  t.is(await volumes.precreateVolume({dir: slashes}, 'd.qcow2', volXml('d.qcow2'), 0), join(dir, 'd.qcow2'))
  const err2 = await t.throwsAsync(volumes.precreateVolume({dir: `${d.root}/elsewhere/`}, 'c.qcow2', volXml('c.qcow2'), 0), {instanceOf: VirError})
  t.is(err2?.message, `Storage pool not found: no storage pool with matching target path '${d.root}/elsewhere/' (${d.root}/elsewhere)`)

  t.true(await volumes.deleteVolumeByPath(join(dir, 'a.qcow2')))
  t.false(existsSync(join(dir, 'a.qcow2')))
  t.notRegex((await virsh(U, ['vol-list', 'm'])).stdout, /a\.qcow2/)
})
