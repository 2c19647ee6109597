/**
 * `virsh define` + `virsh dumpxml --inactive` through virtqemud (vctl daemon start --driver qemu)
 * give what real libvirtd 9.0 gives for the same input (test/golden/devices/NAME.libvirt.xml, see
 * its generate.sh): the XML a client sees, addresses included, is libvirt's; it is valid per
 * libvirt's schema and stays the same after a daemon restart.
 */
import {readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join, resolve} from 'node:path'

import test from 'ava'

import {run, startDaemon, virsh, type TestDaemon} from './helpers/daemon.js'
import {normalised} from './helpers/qemu-devices.js'

const DIR = resolve(import.meta.dirname, 'golden/devices')
const cases = readdirSync(DIR)
  .filter((f) => f.endsWith('.xml') && !f.endsWith('.libvirt.xml'))
  .map((f) => f.slice(0, -4))
  .sort()

let d: TestDaemon | undefined

test.after.always(async () => {
  await d?.stop()
})

/**
 * Without usable KVM (vctl's daemon then refuses type 'kvm', as libvirt does on such a host) the
 * guest runs on TCG: type 'qemu' and no host-passthrough CPU in the input, and in libvirt's output
 * the CPU it gives a TCG guest without one.
 */
function forTcg(input: string, expected: string): [string, string] {
  return [
    input.replace(/<domain type=(["'])kvm\1>/, '<domain type="qemu">').replace('<cpu mode="host-passthrough"/>', ''),
    expected
      .replace("<domain type='kvm'>", "<domain type='qemu'>")
      .replace(
        "<cpu mode='host-passthrough' check='none' migratable='on'/>",
        "<cpu mode='custom' match='exact' check='none'>\n    <model fallback='forbid'>qemu64</model>\n  </cpu>",
      ),
  ]
}

function nameOf(xml: string): string {
  return /<name>([^<]+)<\/name>/.exec(xml)![1]
}

test.serial("virsh define + dumpxml on vctl give libvirt's XML, valid, and the same after a restart", async (t) => {
  d = await startDaemon(['--driver', 'qemu'], {keepRoot: true})
  const root = d.root
  const dumps = new Map<string, string>()
  const caps = await virsh(d.uri('qemu'), ['capabilities'])
  const kvm = caps.stdout.includes("<domain type='kvm'")
  t.log(kvm ? 'KVM usable: inputs as virt-install wrote them' : 'no usable KVM: inputs and libvirt output adjusted for TCG')
  for (const name of cases) {
    let input = readFileSync(join(DIR, `${name}.xml`), 'utf8')
    let expected = readFileSync(join(DIR, `${name}.libvirt.xml`), 'utf8')
    if (!kvm) [input, expected] = forTcg(input, expected)
    const file = join(root, `${name}.xml`)
    writeFileSync(file, input)
    const dom = nameOf(input)
    const r = await virsh(d.uri('qemu'), ['define', file])
    t.is(r.code, 0, `${name}: ${r.stderr}`)
    const x = await virsh(d.uri('qemu'), ['dumpxml', '--inactive', dom])
    t.is(x.code, 0, x.stderr)
    t.is(normalised(x.stdout), normalised(expected), name)
    const out = join(root, `${name}.dump.xml`)
    writeFileSync(out, x.stdout)
    const v = await run('virt-xml-validate', [out, 'domain'])
    t.is(v.code, 0, `${name}: ${v.stdout}${v.stderr}`)
    dumps.set(dom, x.stdout)
  }

  await d.stop()
  d = await startDaemon(['--driver', 'qemu'], {root})
  t.log(`daemon restarted on ${root}`)
  for (const [dom, before] of dumps) {
    const x = await virsh(d.uri('qemu'), ['dumpxml', '--inactive', dom])
    t.is(x.stdout, before, `${dom} after a restart`)
  }
})
