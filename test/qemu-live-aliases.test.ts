// The live XML names serial ports and consoles by libvirt's aliases (cockpit-machines opens a VM's
// serial console with `virsh console NAME ALIAS`, the alias read from the live XML).
import test from 'ava'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {startDaemon, virsh} from './helpers/daemon.js'
import {killGuestsUnder} from './helpers/guest.js'
import {uiGuestXml, SERIAL_PTY} from './ui/guests.js'

test('serial0 on the serial port and its console while the guest runs, nowhere once it stops', async (t) => {
  const d = await startDaemon(['--driver', 'qemu'])
  const U = d.uri('qemu')
  try {
    const file = join(d.root, 'al.xml')
    writeFileSync(file, uiGuestXml('al', {devices: SERIAL_PTY}))
    t.is((await virsh(U, ['define', file])).code, 0)
    t.false((await virsh(U, ['dumpxml', 'al'])).stdout.includes('<alias'))
    const st = await virsh(U, ['start', 'al'])
    t.is(st.code, 0, st.stderr)
    const live = (await virsh(U, ['dumpxml', 'al'])).stdout
    const pty = /<source path='(\/dev\/pts\/\d+)'\/>/.exec(live)?.[1]
    t.truthy(pty, live)
    t.true(
      live.includes(`    <serial type='pty'>
      <source path='${pty}'/>
      <target type='isa-serial' port='0'`),
      live,
    )
    t.is(live.match(/<alias name='serial0'\/>\n {4}<\/(serial|console)>/g)?.length, 2, live)
    t.false((await virsh(U, ['dumpxml', '--inactive', 'al'])).stdout.includes('<alias'))
    t.is((await virsh(U, ['destroy', 'al'])).code, 0)
    t.false((await virsh(U, ['dumpxml', 'al'])).stdout.includes('<alias'))
  } finally {
    killGuestsUnder(d.root)
    await d.stop()
  }
})
