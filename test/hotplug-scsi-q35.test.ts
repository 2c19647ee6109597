// SCSI, IDE/SATA and q35 hotplug through the real virsh, side by side with Debian's real libvirtd
// 9.0 in a private mount namespace: every step's exit code and output must match, and so must the
// disks, controllers and interfaces of the live XML (aliases, drive and PCI addresses, the SCSI
// controller libvirt plugs on the fly). On the vctl side QEMU must hold the plugged disk's file open
// and let go of it on detach, and the tiny guest on q35 must see its virtio disk come and go.
import test from 'ava'
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {virsh, waitFor} from './helpers/daemon.js'
import {countInLog, guestXml, openFiles, qemuPidsUnder, READY, waitForLog} from './helpers/guest.js'
import {sideBySide} from './helpers/side-by-side.js'

const pair = sideBySide('vctl-hotplug-scsi-', {daemonArgs: ['--driver', 'qemu']})
const root = pair.root

const MAC = '52:54:00:aa:bb:cc'
const q35 = (xml: string) => xml.replace("machine='pc'", "machine='q35'")

function prepare(dir: string): void {
  mkdirSync(dir, {recursive: true})
  for (const f of ['d1.img', 'd2.img', 'd3.img']) writeFileSync(join(dir, f), Buffer.alloc(10 << 20))
  writeFileSync(join(dir, 'hp.xml'), guestXml('hp', join(dir, 'serial-hp.log')))
  writeFileSync(join(dir, 'vs.xml'), guestXml('vs', join(dir, 'serial-vs.log'), "    <controller type='scsi' model='virtio-scsi'/>"))
  writeFileSync(join(dir, 'q.xml'), q35(guestXml('q', join(dir, 'serial-q.log'))))
  writeFileSync(join(dir, 'nic.xml'), `<interface type='user'><mac address='${MAC}'/><model type='virtio'/></interface>`)
}

type Step = string[] | {wait: string} | {gone: [string, string]} | {check: (uri: string, dir: string) => Promise<void>}

function steps(dir: string, check: (what: string) => Step): Step[] {
  return [
    // pc, no SCSI controller: libvirt plugs an lsilogic one (scsi0) at the next free slot.
    ['define', `${dir}/hp.xml`],
    ['start', 'hp'],
    {wait: 'serial-hp.log'},
    ['attach-disk', 'hp', `${dir}/d1.img`, 'sda', '--targetbus', 'scsi'],
    check('hp holds d1'),
    ['attach-disk', 'hp', `${dir}/d2.img`, 'sdb', '--targetbus', 'scsi'],
    ['attach-disk', 'hp', `${dir}/d2.img`, 'sdb', '--targetbus', 'scsi'],
    ['attach-disk', 'hp', `${dir}/d3.img`, 'hdb', '--targetbus', 'ide'],
    ['attach-disk', 'hp', `${dir}/d3.img`, 'sdc', '--targetbus', 'sata'],
    ['attach-disk', 'hp', `${dir}/d3.img`, 'fda', '--targetbus', 'fdc'],
    ['dumpxml', 'hp'],
    ['detach-disk', 'hp', 'sda'],
    {gone: ['hp', "<target dev='sda'"]},
    check('hp let go of d1'),
    ['detach-disk', 'hp', 'hdb'],
    ['domblklist', 'hp'],
    ['attach-disk', 'hp', `${dir}/d1.img`, 'sdz', '--targetbus', 'scsi', '--config'],
    ['dumpxml', 'hp', '--inactive'],
    ['destroy', 'hp'],
    // A virtio-scsi controller of the definition: scsi0-0-0-N at unit N.
    ['define', `${dir}/vs.xml`],
    ['start', 'vs'],
    {wait: 'serial-vs.log'},
    ['attach-disk', 'vs', `${dir}/d1.img`, 'sda', '--targetbus', 'scsi'],
    ['attach-disk', 'vs', `${dir}/d2.img`, 'sdc', '--targetbus', 'scsi'],
    // A cdrom: scsi-cd on SCSI; IDE tried (QEMU refuses); virtio cannot be ejectable.
    ['attach-disk', 'vs', `${dir}/d3.img`, 'sde', '--targetbus', 'scsi', '--type', 'cdrom'],
    ['attach-disk', 'vs', `${dir}/d3.img`, 'hdd', '--type', 'cdrom'],
    ['attach-disk', 'vs', `${dir}/d3.img`, 'vdd', '--type', 'cdrom'],
    ['dumpxml', 'vs'],
    ['detach-disk', 'vs', 'sde'],
    {gone: ['vs', "<target dev='sde'"]},
    ['detach-disk', 'vs', 'sdc'],
    {gone: ['vs', "<target dev='sdc'"]},
    ['domblklist', 'vs'],
    ['destroy', 'vs'],
    // q35: one spare pcie-root-port from define time, used by the first hotplug and freed by its unplug.
    ['define', `${dir}/q.xml`],
    ['dumpxml', 'q', '--inactive'],
    ['start', 'q'],
    {wait: 'serial-q.log'},
    ['attach-disk', 'q', `${dir}/d1.img`, 'vdb'],
    check('q sees vdb'),
    ['attach-device', 'q', `${dir}/nic.xml`],
    ['attach-disk', 'q', `${dir}/d2.img`, 'vdc'],
    ['attach-disk', 'q', `${dir}/d3.img`, 'sdc', '--targetbus', 'sata'],
    ['attach-disk', 'q', `${dir}/d3.img`, 'sdd', '--targetbus', 'scsi'],
    ['dumpxml', 'q'],
    ['detach-disk', 'q', 'vdb'],
    {gone: ['q', "<target dev='vdb'"]},
    check('q lost vdb'),
    ['attach-device', 'q', `${dir}/nic.xml`],
    ['dumpxml', 'q'],
    ['detach-device', 'q', `${dir}/nic.xml`],
    {gone: ['q', MAC]},
    ['domiflist', 'q'],
    ['destroy', 'q'],
  ]
}

/**
 * The disks, controllers and interfaces of a dumpxml, without what vctl's live XML lacks today for
 * devices present at boot (controller aliases; the hot-plugged scsi0 is checked on its own).
 */
function devicesPart(xml: string): string {
  const blocks = xml.match(/^ {4}<(disk|controller|interface) [^\n]*?(\/>|>[\s\S]*?\n {4}<\/\1>)$/gm) ?? []
  return blocks
    .map((b) => {
      let s = b.replace(/\n\s*<backingStore\/>/g, '').replace(/(<source [^>]*?) index='\d+'/g, '$1')
      if (b.startsWith('    <controller')) s = s.replace(/\n\s*<alias name='[^']*'\/>/g, '')
      return s.replace(/^( {4}<controller [^>]*)>\n {4}<\/controller>$/, '$1/>')
    })
    .join('\n')
}

async function session(uri: string, dir: string, check: (what: string) => Step): Promise<string[]> {
  const out: string[] = []
  const norm = (s: string) => s.replaceAll(dir, 'DIR').replace(/ +\n/g, '\n').trim()
  for (const s of steps(dir, check)) {
    if (!Array.isArray(s)) {
      if ('wait' in s) await waitForLog(join(dir, s.wait), READY, 1, 120000)
      else if ('gone' in s) {
        const [dom, what] = s.gone
        await waitFor(`${what} to leave ${dom}`, async () => !(await virsh(uri, ['dumpxml', dom])).stdout.includes(what), 60000)
      } else await s.check(uri, dir)
      continue
    }
    const r = await virsh(uri, s, {timeout: 60000})
    const stdout = s[0] === 'dumpxml' ? devicesPart(r.stdout) : r.stdout
    out.push(`$ ${norm(s.join(' '))}\n[${r.code}] ${norm(stdout)}\n${norm(r.stderr)}`)
  }
  return out
}

test('SCSI, IDE/SATA and q35 hotplug: vctl answers as libvirtd 9.0 does', async (t) => {
  t.timeout(900000)
  const {vctl, real} = await pair.start()
  const vDir = join(root, 'vctl-files')
  const rDir = join(root, 'real-files')
  prepare(vDir)
  prepare(rDir)
  const none = () => ({check: () => Promise.resolve()})
  const pid = (name: string) => qemuPidsUnder(vDir).get(name) ?? 0
  let hpLive = ''
  const checks: Record<string, (uri: string) => Promise<void>> = {
    'hp holds d1': async (uri) => {
      t.true(openFiles(pid('hp')).includes(join(vDir, 'd1.img')), 'QEMU opened the SCSI disk')
      hpLive = (await virsh(uri, ['dumpxml', 'hp'])).stdout
    },
    'hp let go of d1': () => {
      t.false(openFiles(pid('hp')).includes(join(vDir, 'd1.img')), 'QEMU closed the SCSI disk')
      return Promise.resolve()
    },
    'q sees vdb': async () => {
      await waitForLog(join(vDir, 'serial-q.log'), 'VCTL-GUEST BLK + vda 20480', 1, 60000)
    },
    'q lost vdb': async () => {
      await waitForLog(join(vDir, 'serial-q.log'), 'VCTL-GUEST BLK - vda', 1, 60000)
      t.is(countInLog(join(vDir, 'serial-q.log'), 'VCTL-GUEST BLK +'), 1)
    },
  }
  const [mine, theirs] = await Promise.all([session(vctl.uri('qemu'), vDir, (what) => ({check: checks[what]})), session(real.uri, rDir, none)])
  t.is(mine.length, theirs.length)
  for (let i = 0; i < theirs.length; i++) t.is(mine[i], theirs[i])
  // The SCSI controller vctl plugged carries libvirt's alias and PCI slot.
  t.regex(
    hpLive,
    /<controller type='scsi' index='0' model='lsilogic'>\s*<alias name='scsi0'\/>\s*<address type='pci' domain='0x0000' bus='0x00' slot='0x03'/,
  )
})
