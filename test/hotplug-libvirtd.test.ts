// The same virsh hotplug session against vctl (monolithic daemon: QEMU and network drivers) and
// Debian's real libvirtd 9.0 in a private mount namespace: every step's exit code and output
// (paths of each side's own files normalised) must match, good input and bad.
import test from 'ava'
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {virsh, waitFor} from './helpers/daemon.js'
import {READY, guestXml, waitForLog} from './helpers/guest.js'
import {sideBySide} from './helpers/side-by-side.js'

const pair = sideBySide('vctl-hotplug-cmp-')
const root = pair.root

const MAC = '52:54:00:aa:bb:cc'

/** A guest with an IDE cdrom and the files the session uses, under `dir`. */
function prepare(dir: string): void {
  mkdirSync(dir, {recursive: true})
  writeFileSync(join(dir, 'd1.img'), Buffer.alloc(10 << 20))
  writeFileSync(join(dir, 'd2.img'), Buffer.alloc(20 << 20))
  writeFileSync(join(dir, 'a.iso'), Buffer.alloc(100 << 10))
  writeFileSync(join(dir, 'b.iso'), Buffer.alloc(100 << 10))
  const cdrom = `    <disk type='file' device='cdrom'><source file='${dir}/a.iso'/><target dev='hdc' bus='ide'/><readonly/></disk>`
  writeFileSync(join(dir, 'hp.xml'), guestXml('hp', join(dir, 'serial.log'), cdrom))
  writeFileSync(join(dir, 'nic.xml'), `<interface type='user'><mac address='${MAC}'/><model type='virtio'/></interface>`)
  writeFileSync(join(dir, 'vnc.xml'), "<graphics type='vnc' port='-1'/>")
  writeFileSync(join(dir, 'bad.xml'), '<disk')
  writeFileSync(join(dir, 'foo.xml'), '<foo/>')
  writeFileSync(
    join(dir, 'cd-b.xml'),
    `<disk type='file' device='cdrom'><source file='${dir}/b.iso'/><target dev='hdc' bus='ide'/><readonly/></disk>`,
  )
  writeFileSync(join(dir, 'vdb.xml'), `<disk type='file' device='disk'><source file='${dir}/d1.img'/><target dev='vdb' bus='virtio'/></disk>`)
}

/** What a successful live detach step removes from the live XML. */
const GONE: Record<string, string> = {
  'detach-disk hp vdb': "<target dev='vdb'",
  'detach-disk hp vdc': "<target dev='vdc'",
  [`detach-interface hp user`]: MAC,
}

function steps(dir: string): string[][] {
  return [
    ['attach-disk', 'hp', `${dir}/d1.img`, 'vdb'],
    ['attach-disk', 'hp', `${dir}/d2.img`, 'vdb'],
    ['attach-disk', 'hp', `${dir}/none.img`, 'vdc'],
    ['attach-disk', 'hp', `${dir}/d2.img`, 'vdc', '--live', '--config'],
    ['domblklist', 'hp'],
    ['domblklist', 'hp', '--inactive'],
    ['detach-disk', 'hp', 'vdb'],
    ['detach-disk', 'hp', 'vdz'],
    ['detach-disk', 'hp', 'vdc', '--live', '--config'],
    ['domblklist', 'hp'],
    ['domblklist', 'hp', '--inactive'],
    ['update-device', 'hp', `${dir}/vdb.xml`],
    ['change-media', 'hp', 'hdc', `${dir}/b.iso`],
    ['domblklist', 'hp'],
    ['change-media', 'hp', 'hdc', '--eject'],
    ['domblklist', 'hp'],
    ['change-media', 'hp', 'hdc', `${dir}/a.iso`, '--insert'],
    ['change-media', 'hp', 'hdc', `${dir}/a.iso`, '--insert'],
    ['change-media', 'hp', 'hdx', `${dir}/a.iso`],
    ['update-device', 'hp', `${dir}/cd-b.xml`],
    ['domblklist', 'hp'],
    ['update-device', 'hp', `${dir}/cd-b.xml`, '--config'],
    ['domblklist', 'hp', '--inactive'],
    ['attach-interface', 'hp', 'network', 'nosuchnet'],
    ['attach-device', 'hp', `${dir}/nic.xml`],
    ['domiflist', 'hp'],
    ['detach-interface', 'hp', 'user', '--mac', MAC],
    ['domiflist', 'hp'],
    ['detach-interface', 'hp', 'user', '--mac', MAC],
    ['attach-device', 'hp', `${dir}/nic.xml`, '--config'],
    ['detach-device', 'hp', `${dir}/nic.xml`, '--config'],
    ['detach-device', 'hp', `${dir}/nic.xml`],
    ['attach-device', 'hp', `${dir}/vnc.xml`],
    ['attach-device', 'hp', `${dir}/bad.xml`],
    ['attach-device', 'hp', `${dir}/foo.xml`],
    ['detach-device-alias', 'hp', 'nosuch'],
    ['attach-disk', 'hp', `${dir}/d2.img`, 'vdc', '--config'],
    ['attach-disk', 'hp', `${dir}/d2.img`, 'vdc', '--config'],
    ['detach-disk', 'hp', 'vdc', '--config'],
    ['detach-disk', 'hp', 'vdc', '--config'],
  ]
}

async function session(uri: string, dir: string): Promise<string[]> {
  const out: string[] = []
  const norm = (s: string) => s.replaceAll(dir, 'DIR').replace(/-{5,}/g, '-----').replace(/ +\n/g, '\n').trim()
  for (const args of steps(dir)) {
    const r = await virsh(uri, args, {timeout: 60000})
    out.push(`$ ${norm(args.join(' '))}\n[${r.code}] ${norm(r.stdout)}\n${norm(r.stderr)}`)
    // A live detach returns after at most 5 s with the removal still pending on a slow guest (both
    // daemons): the session goes on once the device has left the live XML.
    const gone = GONE[args.slice(0, 3).join(' ')]
    if (r.code === 0 && gone !== undefined) {
      await waitFor(`${gone} to leave the live XML`, async () => !(await virsh(uri, ['dumpxml', 'hp'])).stdout.includes(gone), 60000)
    }
  }
  const ro = await virsh(uri, ['attach-disk', 'hp', `${dir}/d2.img`, 'vdc'], {readonly: true})
  out.push(`$ -r attach-disk\n[${ro.code}] ${norm(ro.stdout)}\n${norm(ro.stderr)}`)
  return out
}

async function boot(uri: string, dir: string): Promise<void> {
  prepare(dir)
  const def = await virsh(uri, ['define', join(dir, 'hp.xml')])
  if (def.code !== 0) throw new Error(def.stderr)
  const st = await virsh(uri, ['start', 'hp'])
  if (st.code !== 0) throw new Error(st.stderr)
  await waitForLog(join(dir, 'serial.log'), READY, 1, 120000)
}

test('virsh hotplug session: vctl answers as libvirtd 9.0 does', async (t) => {
  t.timeout(600000)
  const {vctl, real} = await pair.start()
  const vUri = vctl.uri('qemu')
  const vDir = join(root, 'vctl-files')
  const rDir = join(root, 'real-files')
  await Promise.all([boot(vUri, vDir), boot(real.uri, rDir)])
  const [mine, theirs] = await Promise.all([session(vUri, vDir), session(real.uri, rDir)])
  for (let i = 0; i < theirs.length; i++) t.is(mine[i], theirs[i])
})
