// NODE_GET_MEMORY_STATS (228): host memory as libvirt 9.0 reports it (cockpit-machines asks for it).
import test from 'ava'
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {VirError} from '../src/lib/errors.js'
import {hostMemoryStats, parseMeminfo} from '../src/lib/drivers/host-memory.js'
import {python, startDaemon, scratchDir, virsh} from './helpers/daemon.js'

function fakeHost(): {meminfo: string; nodeDir: string} {
  const dir = scratchDir('vctl-meminfo-')
  const meminfo = join(dir, 'meminfo')
  writeFileSync(
    meminfo,
    'MemTotal:        1000 kB\nMemFree:          400 kB\nMemAvailable:     600 kB\nBuffers:           20 kB\nCached:           300 kB\nSwapCached:         0 kB\n',
  )
  const nodeDir = join(dir, 'node')
  mkdirSync(join(nodeDir, 'node0'), {recursive: true})
  mkdirSync(join(nodeDir, 'node1'), {recursive: true})
  writeFileSync(join(nodeDir, 'node1/meminfo'), 'Node 1 MemTotal:        500 kB\nNode 1 MemFree:         100 kB\nNode 1 MemUsed:         400 kB\n')
  return {meminfo, nodeDir}
}

test('the host: four stats from /proc/meminfo, counted first when nparams is 0', (t) => {
  const host = fakeHost()
  t.deepEqual(hostMemoryStats(-1, 0, 0, host), {params: [], nparams: 4})
  t.deepEqual(hostMemoryStats(-1, 4, 0, host), {
    params: [
      {field: 'total', value: 1000n},
      {field: 'free', value: 400n},
      {field: 'buffers', value: 20n},
      {field: 'cached', value: 300n},
    ],
    nparams: 4,
  })
})

test('a NUMA cell: total and free from its own meminfo', (t) => {
  const host = fakeHost()
  t.deepEqual(hostMemoryStats(1, 0, 0, host), {params: [], nparams: 2})
  t.deepEqual(hostMemoryStats(1, 2, 0, host).params, [
    {field: 'total', value: 500n},
    {field: 'free', value: 100n},
  ])
  t.deepEqual(parseMeminfo('Node 12 MemFree: 7 kB\n', 2), [{field: 'free', value: 7n}])
})

test("libvirt's errors: a cell beyond the last, the wrong count, flags", (t) => {
  const host = fakeHost()
  const cell = t.throws<VirError>(() => hostMemoryStats(2, 2, 0, host), {instanceOf: VirError})
  t.is(cell.message, 'cellNum in virHostMemGetStats must be less than or equal to 1')
  t.deepEqual([cell.code, cell.domain], [8, 0])
  t.is(t.throws(() => hostMemoryStats(-1, 2, 0, host))?.message, 'nparams in virHostMemGetStatsLinux must be 4')
  t.is(t.throws(() => hostMemoryStats(-1, 4, 1, host))?.message, 'unsupported flags (0x1) in function virHostMemGetStats')
  // Without NUMA, cell 0 is the whole host (libvirt claims one cell) and others are refused.
  const flat = {meminfo: host.meminfo, nodeDir: join(host.nodeDir, 'absent')}
  t.is(hostMemoryStats(0, 0, 0, flat).nparams, 4)
  t.is(t.throws(() => hostMemoryStats(1, 2, 0, flat))?.message, 'Requested operation is not valid: NUMA not supported on this host')
})

test('virsh nodememstats and libvirt-python against the QEMU driver; the test driver has none', async (t) => {
  const [d, td] = await Promise.all([startDaemon(['--driver', 'qemu']), startDaemon()])
  try {
    const meminfo = readFileSync('/proc/meminfo', 'utf8')
    const total = /^MemTotal:\s+(\d+) kB/m.exec(meminfo)![1]
    const r = await virsh(d.uri('qemu'), ['nodememstats'])
    t.is(r.code, 0, r.stderr)
    t.deepEqual(
      r.stdout
        .trim()
        .split('\n')
        .map((l) => l.split(':')[0].trim()),
      ['total', 'free', 'buffers', 'cached'],
    )
    t.regex(r.stdout, new RegExp(`^total\\s*:\\s*${total} KiB$`, 'm'))
    const py = await python(`
import libvirt
c = libvirt.openReadOnly('${d.uri('qemu', true)}')
s = c.getMemoryStats(-1, 0)
print(sorted(s), s['total'])
try:
    c.getMemoryStats(4096, 0)
except libvirt.libvirtError as e:
    print(e.get_error_code(), e.get_error_domain(), e.get_error_message())
`)
    t.is(py.code, 0, py.stderr)
    const [keys, err] = py.stdout.trim().split('\n')
    t.is(keys, `['buffers', 'cached', 'free', 'total'] ${total}`)
    t.regex(
      err,
      /^(8 0 cellNum in virHostMemGetStats must be less than or equal to \d+|55 0 Requested operation is not valid: NUMA not supported on this host)$/,
    )
    const tst = await virsh(td.uri('test'), ['nodememstats'])
    t.is(tst.code, 1)
    t.regex(tst.stderr, /this function is not supported by the connection driver: virNodeGetMemoryStats/)
  } finally {
    await Promise.all([d.stop(), td.stop()])
  }
})
