// virConnectGetDomainCapabilities (virsh domcapabilities): the real virsh and libvirt-python against
// a vctl daemon with the QEMU driver and the test driver. The XML validates against libvirt's
// schema, reports what the QEMU probe found, and lists only values the driver accepts in a
// definition; argument errors carry libvirt 9.0's codes, domains and messages.
import test from 'ava'
import {readFileSync, readdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {python, run, startDaemon, vctl, virsh, type TestDaemon} from './helpers/daemon.js'
import {killGuestsUnder} from './helpers/guest.js'
import {ErrorCode, ErrorDomain, VirError} from '../src/lib/errors.js'
import {CAPS_FORMAT_VERSION, type QemuCaps} from '../src/lib/drivers/qemu/capabilities.js'
import {x86ModelNames} from '../src/lib/conf/cpu-x86.js'
import type {QemuProbe} from '../src/lib/drivers/qemu/context.js'
import {qemuDomainCapabilities} from '../src/lib/drivers/qemu/domcaps.js'
import {readHostFacts} from '../src/lib/drivers/qemu/host.js'

let q: TestDaemon
let td: TestDaemon
let Q: string
let T: string

test.before(async () => {
  ;[q, td] = await Promise.all([startDaemon(['--driver', 'qemu']), startDaemon()])
  Q = q.uri('qemu')
  T = td.uri('test')
})
test.after.always(async () => {
  if (q) {
    killGuestsUnder(q.root)
    await q.stop()
  }
  if (td) await td.stop()
})

/** The values of `<enum name=NAME>` inside `<SECTION ...>...</SECTION>`. */
function enumValues(xml: string, section: string, name: string): string[] {
  const sec = new RegExp(`<${section} supported='yes'>([\\s\\S]*?)</${section}>`).exec(xml)?.[1] ?? ''
  const e = new RegExp(`<enum name='${name}'(?:/>|>([\\s\\S]*?)</enum>)`).exec(sec)
  return [...(e?.[1] ?? '').matchAll(/<value>([^<]*)<\/value>/g)].map((m) => m[1])
}

async function domcaps(uri: string, args: string[] = []): Promise<string> {
  const r = await virsh(uri, ['domcapabilities', ...args])
  if (r.code !== 0) throw new Error(`virsh domcapabilities ${args.join(' ')}: ${r.stderr}`)
  return r.stdout
}

async function validates(root: string, name: string, xml: string): Promise<{code: number; out: string}> {
  const file = join(root, `${name}.xml`)
  writeFileSync(file, xml)
  const v = await run('virt-xml-validate', [file, 'domaincaps'])
  return {code: v.code, out: v.stdout + v.stderr}
}

let n = 0
/** Defines a guest with `devices` (and machine type) through virsh; returns virsh's result and undefines it. */
async function tryDefine(
  uri: string,
  root: string,
  devices: string,
  opts: {machine?: string; type?: string; arch?: string} = {},
): Promise<{code: number; err: string}> {
  const name = `dc${n++}`
  const file = join(root, `${name}.xml`)
  const machine = opts.machine ? ` machine='${opts.machine}'` : ''
  writeFileSync(
    file,
    `<domain type='${opts.type ?? 'qemu'}'><name>${name}</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>` +
      `<os><type arch='${opts.arch ?? 'x86_64'}'${machine}>hvm</type></os><devices>${devices}</devices></domain>`,
  )
  const r = await virsh(uri, ['define', file])
  if (r.code === 0) await virsh(uri, ['undefine', name])
  return {code: r.code, err: r.stderr.trim()}
}

function probeCache(root: string): {machines: {name: string; alias?: string; maxCpus: number; isDefault: boolean}[]; cpuModels: string[]} {
  const dir = join(root, 'var/cache/libvirt/qemu/capabilities')
  // one file per emulator, named by its path (qemu-system-i386's beside it)
  const file = readdirSync(dir).find((f) => f === `${encodeURIComponent('/usr/bin/qemu-system-x86_64')}.json`)
  if (!file) throw new Error(`no probe cache of qemu-system-x86_64 in ${dir}`)
  return JSON.parse(readFileSync(join(dir, file), 'utf8')) as ReturnType<typeof probeCache>
}

test('qemu: virsh domcapabilities validates and reports the probed machine, arch, vcpu max and CPU models', async (t) => {
  const xml = await domcaps(Q)
  const v = await validates(q.root, 'qemu-default', xml)
  t.is(v.code, 0, v.out)
  const caps = probeCache(q.root)
  const def = caps.machines.find((m) => m.isDefault)!
  t.is(def.alias, 'pc')
  t.regex(def.name, /^pc-i440fx-/)
  t.true(xml.includes(`<path>/usr/bin/qemu-system-x86_64</path>`))
  t.true(xml.includes(`<machine>${def.name}</machine>`))
  t.true(xml.includes('<arch>x86_64</arch>'))
  t.true(xml.includes(`<vcpu max='${def.maxCpus}'/>`))
  const listed = [...xml.matchAll(/<model usable='[a-z]+' vendor='[^']+'>([^<]+)<\/model>/g)].map((m) => m[1]).sort()
  // Like libvirt: only the models its CPU map knows (QEMU's KnightsMill, Denverton... are left out).
  const mapModels = new Set(x86ModelNames())
  const named = caps.cpuModels.filter((m) => !/-v\d+$/.test(m) && !['base', 'max', 'host'].includes(m) && mapModels.has(m)).sort()
  t.true(named.length > 10)
  t.deepEqual(listed, named)
  // The virt type is KVM exactly when the host capabilities offer it.
  const hostCaps = (await virsh(Q, ['capabilities'])).stdout
  const kvm = hostCaps.includes("<domain type='kvm'")
  t.true(xml.includes(`<domain>${kvm ? 'kvm' : 'qemu'}</domain>`))
  t.true(xml.includes(`<mode name='host-passthrough' supported='${kvm ? 'yes' : 'no'}'/>`))
  t.true(xml.includes("<hostdev supported='no'/>"))
})

test('qemu: --machine q35 / pc / --virttype qemu / --arch x86_64 / --emulatorbin', async (t) => {
  const caps = probeCache(q.root)
  const q35 = caps.machines.find((m) => m.alias === 'q35')!
  let xml = await domcaps(Q, ['--machine', 'q35'])
  t.true(xml.includes(`<machine>${q35.name}</machine>`))
  t.true(xml.includes(`<vcpu max='${q35.maxCpus}'/>`))
  t.is((await validates(q.root, 'qemu-q35', xml)).code, 0)
  xml = await domcaps(Q, ['--machine', 'pc', '--virttype', 'qemu', '--arch', 'x86_64', '--emulatorbin', '/usr/bin/qemu-system-x86_64'])
  t.true(xml.includes('<domain>qemu</domain>'))
  t.true(xml.includes(`<machine>${caps.machines.find((m) => m.isDefault)!.name}</machine>`))
  t.true(xml.includes("<mode name='host-passthrough' supported='no'/>"))
})

test('vctl domcapabilities prints what virsh domcapabilities prints, also as --json', async (t) => {
  const args = ['--machine', 'q35', '--virttype', 'qemu']
  const fromVirsh = await domcaps(Q, args)
  const r = await vctl(['domcapabilities', '-c', Q, ...args])
  t.is(r.code, 0, r.stderr)
  t.is(r.stdout.trim(), fromVirsh.trim())
  const j = await vctl(['domcapabilities', '-c', Q, '--json', ...args])
  t.is(j.code, 0, j.stderr)
  t.is((JSON.parse(j.stdout) as {capabilities: string}).capabilities.trim(), fromVirsh.trim())
  const bad = await vctl(['domcapabilities', '-c', Q, '--machine', 'no-such-machine'])
  t.not(bad.code, 0)
  t.regex(bad.stderr, /no-such-machine/)
})

test('qemu: every listed graphics type, disk bus, disk device and video model can be defined; unlisted ones are refused', async (t) => {
  const img = join(q.root, 'disk.img')
  writeFileSync(img, '')
  for (const machine of ['pc', 'q35']) {
    const xml = await domcaps(Q, ['--machine', machine])
    const graphics = enumValues(xml, 'graphics', 'type')
    t.deepEqual(graphics, ['vnc', 'spice'])
    for (const g of graphics)
      t.is((await tryDefine(Q, q.root, `<graphics type='${g}' port='-1' autoport='yes'/>`, {machine})).code, 0, `${machine} ${g}`)
    t.not((await tryDefine(Q, q.root, `<graphics type='sdl'/>`, {machine})).code, 0)
    t.deepEqual(enumValues(xml, 'rng', 'backendModel'), ['random'])
    t.is((await tryDefine(Q, q.root, `<rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>`, {machine})).code, 0)
    t.not((await tryDefine(Q, q.root, `<rng model='virtio'><backend model='egd' type='pty'/></rng>`, {machine})).code, 0)

    const buses = enumValues(xml, 'disk', 'bus')
    t.true(buses.includes('virtio') && buses.includes('sata') && buses.includes('scsi'))
    const dev: Record<string, string> = {virtio: 'vda', ide: 'hda', sata: 'sda', scsi: 'sda', fdc: 'fda', usb: 'sda'}
    const disk = (bus: string, device = 'disk') =>
      `<disk type='file' device='${device}'><source file='${img}'/><target dev='${dev[bus]}' bus='${bus}'/></disk>`
    for (const bus of buses) t.is((await tryDefine(Q, q.root, disk(bus), {machine})).code, 0, `${machine} bus ${bus}`)
    for (const bus of ['ide', 'fdc', 'usb'].filter((b) => !buses.includes(b))) {
      const r = await tryDefine(Q, q.root, disk(bus), {machine})
      t.not(r.code, 0, `${machine} bus ${bus} should be refused`)
    }
    t.is(buses.includes('ide'), machine === 'pc')

    const devices = enumValues(xml, 'disk', 'diskDevice')
    t.deepEqual(devices, ['disk', 'cdrom'])
    for (const d of devices) t.is((await tryDefine(Q, q.root, disk('sata', d), {machine})).code, 0, `${machine} device ${d}`)
    t.not((await tryDefine(Q, q.root, disk('sata', 'floppy'), {machine})).code, 0)

    const videos = enumValues(xml, 'video', 'modelType')
    t.true(videos.includes('vga') && videos.includes('virtio') && videos.includes('none'))
    for (const m of videos) t.is((await tryDefine(Q, q.root, `<video><model type='${m}'/></video>`, {machine})).code, 0, `${machine} video ${m}`)
    t.not((await tryDefine(Q, q.root, `<video><model type='vmvga'/></video>`, {machine})).code, 0)
  }
})

/** Calls getDomainCapabilities with libvirt-python for each argument set; one JSON line each. */
async function pyCalls(uri: string, calls: unknown[][], readonly = false): Promise<unknown[]> {
  const r = await python(`
import json, libvirt
libvirt.registerErrorHandler(lambda *a: None, None)
c = libvirt.${readonly ? 'openReadOnly' : 'open'}(${JSON.stringify(uri)})
for a in json.loads(${JSON.stringify(JSON.stringify(calls))}):
    try:
        x = c.getDomainCapabilities(*a)
        print(json.dumps({'ok': x.startswith('<domainCapabilities>')}))
    except libvirt.libvirtError as e:
        print(json.dumps([e.get_error_code(), e.get_error_domain(), e.get_error_message()]))
`)
  if (r.code !== 0) throw new Error(r.stderr)
  return r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as unknown)
}

test('qemu: errors as libvirt 9.0 reports them (codes, domains, messages), libvirt-python', async (t) => {
  const EMU = '/usr/bin/qemu-system-x86_64'
  const res = await pyCalls(Q, [
    [null, null, null, null, 0],
    [null, 'foo', null, null, 0],
    [null, 'aarch64', null, null, 0],
    [null, null, 'bogus', null, 0],
    ['/nonexistent', null, null, null, 0],
    [null, null, null, 'xen', 0],
    [null, null, null, 'foo', 0],
    [null, null, null, null, 1],
    ['/bin/true', null, null, null, 0],
  ])
  t.deepEqual(res, [
    {ok: true},
    [8, 10, 'invalid argument: unknown architecture: foo'],
    [67, 10, "unsupported configuration: unable to find any emulator to serve 'aarch64' architecture"],
    [8, 10, `invalid argument: the machine 'bogus' is not supported by emulator '${EMU}'`],
    [38, 10, 'Cannot check QEMU binary /nonexistent: No such file or directory'],
    [8, 10, `invalid argument: Emulator '${EMU}' does not support virt type 'xen'`],
    [8, 10, 'invalid argument: unknown virttype: foo'],
    [8, 10, 'unsupported flags (0x1) in function qemuConnectGetDomainCapabilities'],
    [67, 10, `unsupported configuration: Emulator '/bin/true' is not supported by this daemon (it runs ${EMU})`],
  ])
  // virttype kvm: refused exactly when KVM is not usable (libvirt's wording), else the KVM view.
  const kvm = (await virsh(Q, ['capabilities'])).stdout.includes("<domain type='kvm'")
  const [r] = await pyCalls(Q, [[null, null, null, 'kvm', 0]])
  t.deepEqual(r, kvm ? {ok: true} : [8, 10, `invalid argument: the accel 'kvm' is not supported by '${EMU}' on this host`])
  // And the same for virsh.
  const v = await virsh(Q, ['domcapabilities', '--machine', 'bogus'])
  t.not(v.code, 0)
  t.true(v.stderr.includes(`error: invalid argument: the machine 'bogus' is not supported by emulator '${EMU}'`), v.stderr)
})

test('read-only connections are refused as libvirt 9.0 refuses them (virCheckReadOnly in the public API)', async (t) => {
  for (const uri of [q.uri('qemu', true), td.uri('test', true)]) {
    const [r] = await pyCalls(uri, [[null, null, null, null, 0]], true)
    t.deepEqual(r, [29, 20, 'operation forbidden: read only access prevents virConnectGetDomainCapabilities'])
  }
  const v = await virsh(q.uri('qemu', true), ['domcapabilities'], {readonly: true})
  t.not(v.code, 0)
  t.true(v.stderr.includes('read only access prevents virConnectGetDomainCapabilities'), v.stderr)
})

test('test driver: domcapabilities validates, names its emulator, and its enums are accepted by define', async (t) => {
  const xml = await domcaps(T)
  const v = await validates(td.root, 'test-default', xml)
  t.is(v.code, 0, v.out)
  t.true(xml.includes('<path>/usr/bin/test-hv</path>'))
  t.true(xml.includes('<domain>test</domain>'))
  t.true(xml.includes('<arch>i686</arch>'))
  t.true(xml.includes("<hostdev supported='no'/>"))
  const opts = {type: 'test', arch: 'i686'}
  const graphics = enumValues(xml, 'graphics', 'type')
  t.true(graphics.includes('vnc') && graphics.includes('spice'))
  for (const g of graphics) t.is((await tryDefine(T, td.root, `<graphics type='${g}'/>`, opts)).code, 0, `graphics ${g}`)
  const buses = enumValues(xml, 'disk', 'bus')
  t.true(buses.length >= 6)
  for (const bus of buses) {
    const r = await tryDefine(T, td.root, `<disk type='file' device='disk'><source file='/x.img'/><target dev='sdb' bus='${bus}'/></disk>`, opts)
    t.is(r.code, 0, `bus ${bus}: ${r.err}`)
  }
  const [ok, flags] = await pyCalls(T, [
    [null, null, null, null, 0],
    [null, null, null, null, 1],
  ])
  t.deepEqual(ok, {ok: true})
  t.deepEqual(flags, [8, 12, 'unsupported flags (0x1) in function testConnectGetDomainCapabilities'])
})

// The KVM branches without depending on this host's KVM: the builder over a fixed probe.
function fakeProbe(kvm: boolean): QemuProbe {
  const machines = [
    {name: 'pc-i440fx-7.2', alias: 'pc', isDefault: true, maxCpus: 255, deprecated: false},
    {name: 'pc-q35-7.2', alias: 'q35', isDefault: false, maxCpus: 288, deprecated: false},
  ]
  const cpuModels = ['Haswell', 'Haswell-v1', 'EPYC', 'base', 'max', 'qemu64']
  const caps: QemuCaps = {
    formatVersion: CAPS_FORMAT_VERSION,
    emulator: '/usr/bin/qemu-system-x86_64',
    mtimeMs: 0,
    size: 0,
    kvmDevice: kvm,
    version: {major: 7, minor: 2, micro: 0},
    package: '',
    versionNumber: 7_002_000,
    arch: 'x86_64',
    machines,
    cpuModels,
    kvm: {present: true, enabled: kvm},
    sandbox: true,
    probedAtMs: 0,
  }
  const target = {emulator: caps.emulator, arch: 'x86_64', machines, cpuModels, kvm, sandbox: true}
  return {caps, target, host: readHostFacts(), capsXml: ''}
}

const noArgs = {emulatorbin: null, arch: null, machine: null, virttype: null, flags: 0}

test('qemu builder: KVM usable -> kvm by default, host-passthrough supported; unusable -> qemu, virttype kvm refused', (t) => {
  const withKvm = qemuDomainCapabilities(fakeProbe(true), '/usr/bin/qemu-system-x86_64', noArgs)
  t.true(withKvm.includes('<domain>kvm</domain>'))
  t.true(withKvm.includes("<mode name='host-passthrough' supported='yes'/>"))
  t.true(withKvm.includes("<model usable='unknown' vendor='Intel'>Haswell</model>"))
  t.true(withKvm.includes("<model usable='unknown' vendor='AMD'>EPYC</model>"))
  t.false(withKvm.includes('Haswell-v1') || withKvm.includes('>max<') || withKvm.includes('>base<'))
  const asQemu = qemuDomainCapabilities(fakeProbe(true), '/usr/bin/qemu-system-x86_64', {...noArgs, virttype: 'qemu', machine: 'q35'})
  t.true(asQemu.includes('<domain>qemu</domain>') && asQemu.includes('<machine>pc-q35-7.2</machine>') && asQemu.includes("<vcpu max='288'/>"))
  t.true(asQemu.includes("<mode name='host-passthrough' supported='no'/>"))

  const noKvm = fakeProbe(false)
  t.true(qemuDomainCapabilities(noKvm, '/usr/bin/qemu-system-x86_64', noArgs).includes('<domain>qemu</domain>'))
  const err = t.throws(() => qemuDomainCapabilities(noKvm, '/usr/bin/qemu-system-x86_64', {...noArgs, virttype: 'kvm'}), {instanceOf: VirError})
  t.is(err?.code, ErrorCode.INVALID_ARG)
  t.is(err?.domain, ErrorDomain.QEMU)
  t.is(err?.message, "invalid argument: the accel 'kvm' is not supported by '/usr/bin/qemu-system-x86_64' on this host")
})
