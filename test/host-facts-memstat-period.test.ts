// dommemstat --period (DOMAIN_SET_MEMORY_STATS_PERIOD, issue #12) on a defined guest: the persistent
// <memballoon><stats period=.../>, period 0 dropping it, --live on an inactive guest refused; side by side with libvirtd 9.0.
import test from 'ava'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {virsh} from './helpers/daemon.js'
import {sideBySide} from './helpers/side-by-side.js'

const XML = `<domain type='qemu'><name>mp1</name><memory unit='MiB'>128</memory><os><type arch='x86_64'>hvm</type></os>
<devices><memballoon model='virtio'/></devices></domain>`

const pair = sideBySide('vctl-mp-', {real: {hideKvm: true}})

test('dommemstat --period --config / --live / 0 / negative as libvirtd 9.0', async (t) => {
  t.timeout(600_000)
  const {vctl, real} = await pair.start()
  const file = join(pair.root, 'mp1.xml')
  writeFileSync(file, XML)
  const balloon = (x: string) => /<memballoon[\s\S]*?<\/memballoon>/.exec(x)?.[0] ?? ''
  const outs: string[][] = []
  for (const uri of [vctl.uri('qemu'), real.uri]) {
    const out: string[] = []
    t.is((await virsh(uri, ['define', file], {timeout: 120000})).code, 0)
    for (const args of [
      ['dommemstat', 'mp1', '--period', '5', '--config'],
      ['dumpxml', '--inactive', 'mp1'],
      ['dommemstat', 'mp1', '--period', '0', '--config'],
      ['dumpxml', '--inactive', 'mp1'],
      ['dommemstat', 'mp1', '--period', '5', '--live'],
      ['dommemstat', 'mp1', '--period', '-1', '--config'],
    ]) {
      const r = await virsh(uri, args, {timeout: 120000})
      out.push(`${r.code} ${args[0] === 'dumpxml' ? balloon(r.stdout) : r.stdout + r.stderr}`)
    }
    await virsh(uri, ['undefine', 'mp1'], {timeout: 120000})
    outs.push(out)
  }
  t.deepEqual(outs[0], outs[1])
  t.regex(outs[0][1], /<stats period='5'\/>/)
  t.notRegex(outs[0][3], /<stats/)
})
