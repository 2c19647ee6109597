// hypervisor-cpu-baseline / hypervisor-cpu-compare and domcapabilities' CPU modes (issue #12): the x86 algorithms over
// fixed data, then the real virsh against vctl's QEMU driver and Debian's libvirtd 9.0 (TCG only) with the same inputs.
import test from 'ava'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {baselineX86, decodeX86Guest, expandX86, parseX86Cpu} from '../src/lib/conf/cpu-x86-guest.js'
import {computeX86, compareX86Xml} from '../src/lib/conf/cpu-x86-compare.js'
import {VirError} from '../src/lib/errors.js'
import {run, virsh} from './helpers/daemon.js'
import {sideBySide, type Daemons} from './helpers/side-by-side.js'

const HV = new Map<string, string[]>([
  ['qemu64', []],
  ['Haswell', ['pcid', 'x2apic', 'tsc-deadline', 'hle', 'invpcid', 'rtm']],
  ['EPYC', ['rdseed', 'sha-ni', 'topoext']],
  ['Opteron_G2', []],
])

test('baseline: the given model is kept, what the hypervisor cannot give it is disabled, extra features required in map order', (t) => {
  const cpu = parseX86Cpu("<cpu><model>Haswell</model><vendor>Intel</vendor><feature name='avx512f'/><feature name='vme'/></cpu>")
  const {cpu: out, outputVendor} = baselineX86([cpu], HV)
  t.true(outputVendor)
  t.is(out.model, 'Haswell')
  t.deepEqual(
    out.features.map((f) => `${f.policy}:${f.name}`),
    ['require:vme', 'require:avx512f', 'disable:pcid', 'disable:x2apic', 'disable:tsc-deadline', 'disable:hle', 'disable:invpcid', 'disable:rtm'],
  )
  const expanded = expandX86(out)
  t.deepEqual(
    expanded.map((f) => f.name),
    [...expanded.map((f) => f.name)].sort(),
  )
  t.is(expanded.find((f) => f.name === 'rtm')?.policy, 'disable')
  t.is(expanded.find((f) => f.name === 'fpu')?.policy, 'require')
})

test('baseline: a model the hypervisor lacks decodes to the closest one it has; signature models lose monitor', (t) => {
  const g2 = baselineX86([parseX86Cpu('<cpu><model>cpu64-rhel6</model></cpu>')], HV).cpu
  t.not(g2.model, 'cpu64-rhel6')
  t.true(HV.has(g2.model))
  const epyc = baselineX86([parseX86Cpu('<cpu><model>EPYC</model></cpu>')], HV).cpu
  t.is(epyc.model, 'EPYC')
  t.deepEqual(epyc.features.at(-1), {name: 'monitor', policy: 'disable'})
  t.true(epyc.features.some((f) => f.name === 'topoext' && f.policy === 'disable'))
})

test('baseline errors: no model, unknown model, feature and vendor, vendors that differ', (t) => {
  const msg = (f: () => unknown) => t.throws(f, {instanceOf: VirError})?.message
  t.is(
    msg(() => baselineX86([parseX86Cpu("<cpu mode='host-model'/>")], HV)),
    'invalid argument: no CPU model specified at index 0',
  )
  t.is(
    msg(() => baselineX86([parseX86Cpu('<cpu><model>Foo</model></cpu>')], HV)),
    'internal error: Unknown CPU model Foo',
  )
  t.is(
    msg(() => baselineX86([parseX86Cpu("<cpu><model>qemu64</model><feature name='foo'/></cpu>")], HV)),
    'internal error: Unknown CPU feature foo',
  )
  t.is(
    msg(() => baselineX86([parseX86Cpu('<cpu><model>qemu64</model><vendor>Foo</vendor></cpu>')], HV)),
    'operation failed: Unknown CPU vendor Foo',
  )
  const two = ['<cpu><model>qemu64</model><vendor>Intel</vendor></cpu>', '<cpu><model>qemu64</model><vendor>AMD</vendor></cpu>'].map((x) =>
    parseX86Cpu(x),
  )
  t.is(
    msg(() => baselineX86(two, HV)),
    'operation failed: CPU vendors do not match',
  )
  t.is(
    msg(() => parseX86Cpu("<cpu><feature name='sse2'/></cpu>")),
    'XML error: Non-empty feature list specified without CPU model',
  )
})

test('compare: identical, superset, strict extra features, missing and forbidden features, vendor and arch', (t) => {
  const host = parseX86Cpu("<cpu mode='custom' match='exact'><model>qemu64</model><vendor>AMD</vendor><feature policy='require' name='ssse3'/></cpu>")
  t.is(computeX86(host, parseX86Cpu("<cpu><model>qemu64</model><feature name='ssse3'/></cpu>")).result, 1)
  t.is(computeX86(host, parseX86Cpu('<cpu><model>qemu64</model></cpu>')).result, 2)
  t.deepEqual(computeX86(host, parseX86Cpu("<cpu match='strict'><model>qemu64</model></cpu>")), {
    result: 0,
    message: 'Host CPU does not strictly match guest CPU: Extra features: ssse3',
  })
  t.is(
    computeX86(host, parseX86Cpu("<cpu><model>qemu64</model><feature name='avx2'/><feature name='vmx'/></cpu>")).message,
    'Host CPU does not provide required features: vmx, avx2',
  )
  t.is(
    computeX86(host, parseX86Cpu("<cpu><model>qemu64</model><feature policy='forbid' name='sse2'/></cpu>")).message,
    'Host CPU provides forbidden features: sse2',
  )
  t.is(
    computeX86(host, parseX86Cpu('<cpu><model>qemu64</model><vendor>Intel</vendor></cpu>')).message,
    'host CPU vendor does not match required CPU vendor Intel',
  )
  t.is(computeX86(host, parseX86Cpu('<cpu><arch>aarch64</arch><model>qemu64</model></cpu>')).message, 'CPU arch aarch64 does not match host arch')
  const e = t.throws(() => compareX86Xml(host, '<cpu><model>qemu64</model><vendor>Intel</vendor></cpu>', true), {instanceOf: VirError})
  t.is(e?.code, 91)
  t.is(e?.message, 'the CPU is incompatible with host CPU: host CPU vendor does not match required CPU vendor Intel')
})

test('decoding a host CPU: the shortest feature list wins, blockers disabled', (t) => {
  const data = new Set([
    'fpu',
    'de',
    'pse',
    'tsc',
    'msr',
    'pae',
    'mce',
    'cx8',
    'apic',
    'sep',
    'mtrr',
    'pge',
    'mca',
    'cmov',
    'pat',
    'pse36',
    'clflush',
  ])
  for (const f of ['mmx', 'fxsr', 'sse', 'sse2', 'pni', 'cx16', 'syscall', 'nx', 'lm', 'lahf_lm', 'sse4a', 'abm', 'svm']) data.add(f)
  const d = decodeX86Guest(data, 'AMD', HV)
  t.true(HV.has(d.model))
  t.is(d.vendor, 'AMD')
})

// ---- side by side with libvirtd 9.0 --------------------------------------------------------------

const CPUS: Record<string, string> = {
  haswell:
    "<cpu><arch>x86_64</arch><model>Haswell</model><vendor>Intel</vendor><feature name='vme'/><feature name='avx512f'/><feature name='ss'/></cpu>",
  skylake:
    "<cpu mode='custom' match='exact'><model fallback='forbid'>Skylake-Client</model><vendor>Intel</vendor><feature policy='require' name='vmx'/><feature policy='disable' name='hle'/></cpu>",
  qemu64: "<cpu mode='custom' match='exact'><model>qemu64</model><feature policy='require' name='ssse3'/></cpu>",
  epyc: "<cpu mode='custom' match='exact'><model>EPYC</model></cpu>",
  rhel5: '<cpu><model>cpu64-rhel5</model></cpu>',
  strict: "<cpu mode='custom' match='strict'><model>qemu64</model></cpu>",
  forbid: "<cpu><model>Opteron_G2</model><feature policy='forbid' name='sse2'/></cpu>",
  missing: "<cpu><model>qemu64</model><feature policy='require' name='avx2'/><feature policy='require' name='vmx'/></cpu>",
  unknownModel: '<cpu><model>Foo</model></cpu>',
  unknownFeature: "<cpu><model>qemu64</model><feature name='foo'/></cpu>",
  noModel: "<cpu><feature name='sse2'/></cpu>",
  badVendor: '<cpu><model>Haswell</model><vendor>Foo</vendor></cpu>',
  hostModel: "<cpu mode='host-model'/>",
}

const pair = sideBySide('vctl-hvcpu-', {real: {hideKvm: true}})
const dir = pair.root
let hostCpu = ''
/** Both daemons, the CPU files, and the capabilities' host CPU of this machine as real libvirtd reports it (once). */
let ready: Promise<Daemons> | undefined
const both = () =>
  (ready ??= pair.start().then(async (daemons) => {
    for (const [name, xml] of Object.entries(CPUS)) writeFileSync(join(dir, `${name}.xml`), xml + '\n')
    const caps = (await virsh(daemons.real.uri, ['capabilities'], {timeout: 120000})).stdout
    writeFileSync(join(dir, 'caps.xml'), caps)
    hostCpu = /<cpu>[\s\S]*?<\/cpu>/.exec(caps)?.[0] ?? ''
    return daemons
  }))

type Call = [
  op: 'baseline' | 'compare',
  emulator: string | null,
  arch: string | null,
  machine: string | null,
  virttype: string | null,
  xml: string,
  flags: number,
]

/** Runs the calls over one libvirt-python connection (the real libvirtd is slow to accept connections on a loaded machine). */
async function calls(uri: string, list: Call[]): Promise<unknown[]> {
  const code = `
import json, sys, libvirt
libvirt.registerErrorHandler(lambda *a: None, None)
c = libvirt.open(sys.argv[1])
out = []
for op, em, arch, mach, vt, xml, flags in json.loads(sys.argv[2]):
    try:
        if op == 'baseline':
            out.append({'ok': c.baselineHypervisorCPU(em, arch, mach, vt, [xml], flags)})
        else:
            out.append({'ok': c.compareHypervisorCPU(em, arch, mach, vt, xml, flags)})
    except libvirt.libvirtError as e:
        out.append({'err': [e.get_error_code(), e.get_error_domain(), e.get_error_message()]})
print(json.dumps(out))
`
  const r = await run('/usr/bin/python3', ['-c', code, uri, JSON.stringify(list)], {timeout: 300000})
  if (r.code !== 0) throw new Error(r.stderr)
  return JSON.parse(r.stdout) as unknown[]
}

const cpuXmls = (): Array<[string, string]> => [['caps', hostCpu], ...Object.entries(CPUS)]

test('hypervisor-cpu-baseline and -compare of each CPU, with each flag, answer as libvirtd 9.0 (libvirt-python)', async (t) => {
  t.timeout(600_000) // the real libvirtd is slow to accept connections on a loaded machine
  const {vctl, real} = await both()
  const list: Call[] = []
  for (const [, xml] of cpuXmls()) {
    for (const flags of [0, 1, 2, 3]) list.push(['baseline', null, null, null, null, xml, flags])
    for (const flags of [0, 1]) list.push(['compare', null, null, null, null, xml, flags])
  }
  list.push(['baseline', null, null, null, null, CPUS.qemu64, 4], ['compare', null, null, null, null, CPUS.qemu64, 8])
  const [ours, theirs] = await Promise.all([calls(vctl.uri('qemu'), list), calls(real.uri, list)])
  list.forEach((c, i) => t.deepEqual(ours[i], theirs[i], JSON.stringify(c)))
  // Not a vacuous comparison: results of every kind are among them.
  t.true(theirs.some((r) => JSON.stringify(r).includes("policy='disable'")))
  t.true(theirs.some((r) => JSON.stringify(r) === '{"ok":2}'))
  t.true(theirs.some((r) => JSON.stringify(r).includes('Host CPU does not provide required features')))
})

test('hypervisor CPU arguments (virttype, arch, emulator, machine) answer as libvirtd 9.0', async (t) => {
  t.timeout(600_000) // the real libvirtd is slow to accept connections on a loaded machine
  const {vctl, real} = await both()
  const list: Call[] = []
  for (const [em, arch, mach, vt] of [
    [null, null, null, 'kvm'],
    [null, null, null, 'xen'],
    [null, null, null, 'bogus'],
    [null, null, null, 'qemu'],
    [null, 'aarch64', null, null],
    [null, 'bogus', null, null],
    [null, 'i686', null, null],
    ['/usr/bin/qemu-system-i386', null, null, null],
    ['/usr/bin/qemu-system-x86_64', 'i686', null, null],
    ['/nonexistent/qemu', null, null, null],
    [null, null, 'bogus', null],
    [null, null, 'pc-q35-7.2', null],
  ]) {
    list.push(['baseline', em, arch, mach, vt, CPUS.haswell, 0], ['compare', em, arch, mach, vt, CPUS.qemu64, 0])
  }
  const [ours, theirs] = await Promise.all([calls(vctl.uri('qemu'), list), calls(real.uri, list)])
  list.forEach((c, i) => t.deepEqual(ours[i], theirs[i], JSON.stringify(c)))
})

test('the real virsh prints the same for hypervisor-cpu-baseline --features and hypervisor-cpu-compare', async (t) => {
  t.timeout(600_000) // the real libvirtd is slow to accept connections on a loaded machine
  const {vctl, real} = await both()
  for (const args of [
    ['hypervisor-cpu-baseline', '--features', join(dir, 'caps.xml')],
    ['hypervisor-cpu-compare', join(dir, 'qemu64.xml')],
    ['hypervisor-cpu-compare', '--error', join(dir, 'epyc.xml')],
  ]) {
    const [a, b] = await Promise.all([virsh(vctl.uri('qemu'), args), virsh(real.uri, args, {timeout: 120000})])
    t.is(a.code, b.code, `${args.join(' ')}: ${a.stderr} | ${b.stderr}`)
    t.is(a.stdout + a.stderr, b.stdout + b.stderr, args.join(' '))
  }
})

test("domcapabilities' CPU modes (host-model, custom usable) as libvirtd 9.0", async (t) => {
  t.timeout(600_000) // the real libvirtd is slow to accept connections on a loaded machine
  const {vctl, real} = await both()
  const cpuOf = (x: string) => /<cpu>[\s\S]*<\/cpu>/.exec(x)?.[0] ?? ''
  for (const args of [[], ['--machine', 'q35']]) {
    const [a, b] = await Promise.all([
      virsh(vctl.uri('qemu'), ['domcapabilities', ...args]),
      virsh(real.uri, ['domcapabilities', ...args], {timeout: 120000}),
    ])
    t.is(a.code, 0, a.stderr)
    t.regex(a.stdout, /<mode name='host-model' supported='yes'>\s*<model fallback='forbid'>/)
    t.is(cpuOf(a.stdout), cpuOf(b.stdout))
  }
})
