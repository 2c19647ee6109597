// Host facts (issue #12): the host CPU decoded as libvirt's x86 decoder does, NUMA topology from sysfs,
// CPU times, cells' free memory and KSM parameters from /proc and sysfs (fake trees), the test driver's
// values as libvirt's test driver has them, and the capabilities' host section beside real libvirtd's.
import test from 'ava'
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {X86_FEATURES} from '../src/lib/conf/cpu-map-x86.js'
import {decodeX86Host, x86ModelFeatures, x86ModelNames} from '../src/lib/conf/cpu-x86.js'
import {readHostTopology} from '../src/lib/drivers/qemu/host-topology.js'
import {hostCellsFree, hostCpuStats, hostMemoryParameters, setHostMemoryParameters} from '../src/lib/drivers/qemu/host-facts.js'
import {readSysinfo} from '../src/lib/drivers/qemu/sysinfo.js'
import {VirError} from '../src/lib/errors.js'
import {startDaemon, scratchDir, virsh, type TestDaemon} from './helpers/daemon.js'
import {startRealLibvirtd} from './helpers/real-libvirtd.js'

/** CPUID data with exactly these map features, vendor `vendor` and family 6 model `model`. */
function cpuidOf(features: string[], vendor: string, model: number) {
  const leaves = new Map<string, number[]>()
  const leaf = (l: number, s: number) => {
    const k = `${l}/${s}`
    if (!leaves.has(k)) leaves.set(k, [0, 0, 0, 0])
    return leaves.get(k) ?? [0, 0, 0, 0]
  }
  for (const [name, kind, index, sub, regs] of X86_FEATURES) {
    if (kind !== 'cpuid' || !features.includes(name)) continue
    const v = leaf(index, sub)
    regs.forEach((m, i) => (v[i] = (v[i] | m) >>> 0))
  }
  const b = Buffer.from(vendor, 'latin1')
  leaves.set('0/0', [0x20, b.readUInt32LE(0), b.readUInt32LE(8), b.readUInt32LE(4)])
  const l1 = leaf(1, 0)
  l1[0] = (6 << 8) | ((model & 0xf) << 4) | ((model >> 4) << 16) | 1
  return {cpuid: (l: number, s: number) => leaves.get(`${l}/${s}`), msr: new Map<number, bigint>()}
}

test('the CPU map: 58 models in libvirt 9.0 order', (t) => {
  const names = x86ModelNames()
  t.is(names.length, 58)
  t.is(names[0], '486')
  t.is(names.at(-1), 'Dhyana')
  t.true(names.indexOf('Broadwell-noTSX') < names.indexOf('Broadwell'))
})

test('decoding: a CPU with exactly a model features gets that model and no extra features', (t) => {
  const feats = [...(x86ModelFeatures('Haswell-noTSX') ?? [])]
  const cpu = decodeX86Host(cpuidOf(feats, 'GenuineIntel', 60))
  t.is(cpu?.vendor, 'Intel')
  t.is(cpu?.model, 'Haswell-noTSX')
  t.deepEqual(cpu?.features, [])
  t.deepEqual(cpu?.signature, {family: 6, model: 60, stepping: 1})
})

test('decoding: extra features are listed in the map order; a model needing a missing feature is never chosen', (t) => {
  const feats = [...(x86ModelFeatures('Broadwell') ?? []), 'vme', 'avx512f', 'ss']
  const cpu = decodeX86Host(cpuidOf(feats, 'GenuineIntel', 167))
  t.is(cpu?.model, 'Broadwell')
  t.deepEqual(cpu?.features, ['vme', 'ss', 'avx512f'])
})

test('decoding: broken TSX (Haswell signature) drops hle/rtm; AMD data never gets an Intel model', (t) => {
  const haswell = decodeX86Host(cpuidOf([...(x86ModelFeatures('Haswell') ?? [])], 'GenuineIntel', 60))
  t.is(haswell?.model, 'Haswell-noTSX')
  t.false(haswell?.all.includes('rtm'))
  const amd = decodeX86Host(cpuidOf([...(x86ModelFeatures('Opteron_G3') ?? [])], 'AuthenticAMD', 16))
  t.is(amd?.vendor, 'AMD')
  t.is(amd?.model, 'Opteron_G3')
})

function fakeSys() {
  const root = scratchDir('vctl-hostsys-')
  const node = join(root, 'node')
  const cpu = join(root, 'cpu')
  const hugepages = join(root, 'hugepages')
  for (const n of [0, 1]) {
    mkdirSync(join(node, `node${n}/hugepages/hugepages-2048kB`), {recursive: true})
    writeFileSync(join(node, `node${n}/meminfo`), `Node ${n} MemTotal:       1000 kB\nNode ${n} MemFree:         ${300 + n} kB\n`)
    writeFileSync(join(node, `node${n}/cpulist`), n === 0 ? '0-1\n' : '2-3\n')
    writeFileSync(join(node, `node${n}/distance`), n === 0 ? '10 21\n' : '21 10\n')
    writeFileSync(join(node, `node${n}/hugepages/hugepages-2048kB/nr_hugepages`), n === 0 ? '100\n' : '0\n')
  }
  mkdirSync(join(hugepages, 'hugepages-2048kB'), {recursive: true})
  for (const c of [0, 1, 2, 3]) {
    mkdirSync(join(cpu, `cpu${c}/topology`), {recursive: true})
    mkdirSync(join(cpu, `cpu${c}/cache/index3`), {recursive: true})
    const w = (f: string, v: string) => writeFileSync(join(cpu, `cpu${c}/topology`, f), v + '\n')
    w('physical_package_id', String(c >> 1))
    w('die_id', '0')
    w('core_id', '0')
    w('thread_siblings_list', c < 2 ? '0-1' : '2-3')
    const k = (f: string, v: string) => writeFileSync(join(cpu, `cpu${c}/cache/index3`, f), v + '\n')
    k('level', '3')
    k('type', 'Unified')
    k('size', '32768K')
    k('id', String(c >> 1))
    k('shared_cpu_list', c < 2 ? '0-1' : '2-3')
  }
  return {root, paths: {node, cpu, hugepages}}
}

test('topology: cells with memory, pages (base pages net of huge pages), distances, per-CPU socket/die/core/siblings; L3 banks', (t) => {
  const {paths} = fakeSys()
  const topo = readHostTopology([0, 1, 2, 3], 2000, paths)
  t.deepEqual(topo.pageSizesKiB, [4, 2048])
  t.is(topo.cells.length, 2)
  t.deepEqual(topo.cells[0].pages, [
    [4, Math.floor((1000 - 204800) / 4)],
    [2048, 100],
  ])
  t.deepEqual(topo.cells[1].distances, [
    [0, 21],
    [1, 10],
  ])
  t.deepEqual(topo.cells[1].cpus[1], {id: 3, socketId: 1, dieId: 0, coreId: 0, siblings: '2-3'})
  t.deepEqual(topo.caches, [
    {id: 0, level: 3, type: 'both', size: 32, unit: 'MiB', cpus: '0-1'},
    {id: 1, level: 3, type: 'both', size: 32, unit: 'MiB', cpus: '2-3'},
  ])
})

test('CPU times from /proc/stat in ns (kernel = system+irq+softirq, user = user+nice), and libvirt errors', (t) => {
  const dir = scratchDir('vctl-stat-')
  const stat = join(dir, 'stat')
  writeFileSync(stat, 'cpu  10 1 20 300 4 2 3 0 0 0\ncpu0 5 1 10 150 2 1 1 0 0 0\nintr 1\n')
  const paths = {stat, node: join(dir, 'none'), ksm: join(dir, 'ksm')}
  t.deepEqual(hostCpuStats(-1, 0, 0, paths), {params: [], nparams: 4})
  t.deepEqual(
    hostCpuStats(0, 4, 0, paths).params.map((p) => [p.field, p.value]),
    [
      ['kernel', 120_000_000n],
      ['user', 60_000_000n],
      ['idle', 1_500_000_000n],
      ['iowait', 20_000_000n],
    ],
  )
  t.is(hostCpuStats(-1, 4, 0, paths).params[0].value, 250_000_000n)
  const e = t.throws(() => hostCpuStats(7, 4, 0, paths), {instanceOf: VirError})
  t.is(e?.message, 'Invalid cpuNum in virHostCPUGetStatsLinux')
})

test('free memory per cell, start cell out of range as libvirt says it', (t) => {
  const {root, paths} = fakeSys()
  const p = {stat: '', node: paths.node, ksm: join(root, 'ksm')}
  t.deepEqual(hostCellsFree(0, 5, p), [300n * 1024n, 301n * 1024n])
  t.deepEqual(hostCellsFree(1, 1, p), [301n * 1024n])
  const e = t.throws(() => hostCellsFree(3, 1, p), {instanceOf: VirError})
  t.is(e?.message, 'internal error: start cell 3 out of range (0-1)')
})

test('KSM parameters: eight typed values; only the three tunables can be set, written to their files', (t) => {
  const dir = scratchDir('vctl-ksm-')
  const ksm = join(dir, 'ksm')
  mkdirSync(ksm)
  const files = [
    'pages_to_scan',
    'sleep_millisecs',
    'pages_shared',
    'pages_sharing',
    'pages_unshared',
    'pages_volatile',
    'full_scans',
    'merge_across_nodes',
  ]
  files.forEach((f, i) => writeFileSync(join(ksm, f), `${i + 10}\n`))
  const paths = {stat: '', node: '', ksm}
  t.is(hostMemoryParameters(0, 0, paths).nparams, 8)
  const all = hostMemoryParameters(8, 4, paths).params
  t.deepEqual(all[0], {field: 'shm_pages_to_scan', type: 2, value: 10})
  t.deepEqual(all[2], {field: 'shm_pages_shared', type: 4, value: 12n})
  t.is(all[7].field, 'shm_merge_across_nodes')
  setHostMemoryParameters([{field: 'shm_sleep_millisecs', type: 2, value: 50}], 0, paths)
  t.is(readFileSync(join(ksm, 'sleep_millisecs'), 'utf8'), '50')
  const e = t.throws(() => setHostMemoryParameters([{field: 'shm_full_scans', type: 2, value: 1}], 0, paths), {instanceOf: VirError})
  t.is(e?.code, 74)
  t.is(readFileSync(join(ksm, 'full_scans'), 'utf8'), '16\n')
})

test('sysinfo from DMI attributes; a host without DMI gets libvirt error', (t) => {
  const dir = scratchDir('vctl-dmi-')
  writeFileSync(join(dir, 'bios_vendor'), 'SeaBIOS\n')
  writeFileSync(join(dir, 'sys_vendor'), 'QEMU\n')
  writeFileSync(join(dir, 'product_name'), 'Standard PC\n')
  const xml = readSysinfo(dir)
  t.true(xml.startsWith("<sysinfo type='smbios'>"))
  t.true(xml.includes("<entry name='vendor'>SeaBIOS</entry>"))
  t.true(xml.includes("<entry name='manufacturer'>QEMU</entry>"))
  const e = t.throws(() => readSysinfo(join(dir, 'absent')), {instanceOf: VirError})
  t.is(e?.code, 67)
  t.is(e?.message, 'unsupported configuration: Host SMBIOS information is not available')
})

let d: TestDaemon
test.before(async () => {
  d = await startDaemon()
})
test.after.always(async () => {
  await d?.stop()
})

const SAME_AS_TEST_DRIVER = [
  ['sysinfo'],
  ['nodecpustats'],
  ['nodecpustats', '--cpu', '1'],
  ['freecell'],
  ['freecell', '--all'],
  ['freecell', '1'],
  ['freecell', '5'],
  ['cpu-models', 'x86_64'],
  ['cpu-models', 'arm'],
  ['maxvcpus'],
  ['nodememstats'],
  ['node-memory-tune'],
]

for (const args of SAME_AS_TEST_DRIVER) {
  test(`test driver: virsh ${args.join(' ')} as libvirt's test driver`, async (t) => {
    const ours = await virsh(d.uri('test'), args)
    const theirs = await virsh('test:///default', args)
    t.is(ours.code, theirs.code, ours.stderr)
    t.is(ours.stdout, theirs.stdout)
    t.is(ours.stderr, theirs.stderr)
  })
}

const ONE_CPU = `<cpu><arch>x86_64</arch><model>Haswell</model><vendor>Intel</vendor><feature name='vme'/><feature name='avx512f'/><feature name='ss'/></cpu>
`

for (const extra of [[], ['--features']]) {
  test(`test driver: cpu-baseline ${extra.join(' ')} of a CPU as libvirt's test driver`, async (t) => {
    const file = join(scratchDir('vctl-cpus-'), 'cpus.xml')
    writeFileSync(file, ONE_CPU)
    const ours = await virsh(d.uri('test'), ['cpu-baseline', ...extra, file])
    const theirs = await virsh('test:///default', ['cpu-baseline', ...extra, file])
    t.is(ours.code, 0, ours.stderr)
    t.regex(ours.stdout, /<model fallback='forbid'>Haswell<\/model>/)
    t.is(ours.stdout, theirs.stdout)
  })
}

test('QEMU driver: cpu-models, freecell errors and node-memory-tune answer', async (t) => {
  const uri = d.uri('qemu')
  const models = await virsh(uri, ['cpu-models', 'x86_64'])
  t.is(models.code, 0)
  t.is(models.stdout.trim().split('\n').length, 58)
  const arm = await virsh(uri, ['cpu-models', 'arm'])
  t.is(arm.code, 1)
  t.regex(arm.stderr, /invalid argument: cannot find architecture arm/)
  const cell = await virsh(uri, ['freecell', '4096'])
  t.is(cell.code, 1)
  t.regex(cell.stderr, /internal error: start cell 4096 out of range/)
  const tune = await virsh(uri, ['node-memory-tune'])
  t.is(tune.code, 0, tune.stderr)
  t.regex(tune.stdout, /shm_pages_to_scan/)
  const stats = await virsh(uri, ['nodecpustats', '--cpu', '0'])
  t.is(stats.code, 0, stats.stderr)
  t.regex(stats.stdout, /^user:\s+\d+/m)
})

/** The capabilities' host section without what legitimately differs between two daemons (host UUID). */
function hostSection(xml: string): string {
  const host = /<host>[\s\S]*<\/host>/.exec(xml)?.[0] ?? ''
  return host
    .replace(/<uuid>.*<\/uuid>/, '')
    .replace(/<memory unit='KiB'>\d+<\/memory>/g, '')
    .replace(/<pages unit='KiB' size='4'>\d+<\/pages>/g, '')
}

test.serial('QEMU driver: capabilities host CPU, topology, cache and security models as real libvirtd, the i686 guest', async (t) => {
  const real = await startRealLibvirtd()
  try {
    const ours = await virsh(d.uri('qemu'), ['capabilities'])
    const theirs = await virsh(real.uri, ['capabilities'])
    t.is(ours.code, 0, ours.stderr)
    t.is(hostSection(ours.stdout), hostSection(theirs.stdout))
    const arches = (x: string) => [...x.matchAll(/<arch name='([^']+)'>/g)].map((m) => m[1])
    t.deepEqual(arches(ours.stdout), arches(theirs.stdout))
    t.regex(ours.stdout, /<pae\/>\s*<nonpae\/>/)
    const capsFile = join(scratchDir('vctl-caps-'), 'caps.xml')
    writeFileSync(capsFile, theirs.stdout)
    for (const args of [
      ['maxvcpus'],
      ['nodeinfo'],
      ['sysinfo'],
      ['cpu-models', 'i686'],
      ['cpu-baseline', capsFile],
      ['cpu-baseline', '--features', '--migratable', capsFile],
      ['cpu-compare', capsFile],
    ]) {
      const a = await virsh(d.uri('qemu'), args)
      const b = await virsh(real.uri, args)
      t.is(a.code, b.code, args.join(' '))
      if (args[0] !== 'nodeinfo') t.is(a.stdout + a.stderr, b.stdout + b.stderr, args.join(' '))
      else t.is(a.stdout.replace(/CPU frequency:.*\n/, ''), b.stdout.replace(/CPU frequency:.*\n/, ''))
    }
  } finally {
    await real.stop()
  }
})
