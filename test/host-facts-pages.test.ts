// Huge pages and node suspend (issue #12): freepages / allocpages over a fake sysfs, and the real virsh and libvirt-python
// against vctl's QEMU driver and Debian's libvirtd 9.0 side by side. Nothing here changes the host's hugepage pool
// (allocpages adds 0 pages) and nothing suspends the host (every target is refused, as libvirtd refuses it here).
import test, {type ExecutionContext} from 'ava'
import {existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {hostAllocPages, hostFreePages, hostSuspend} from '../src/lib/drivers/qemu/host-pages.js'
import {VirError} from '../src/lib/errors.js'
import {run, scratchDir, virsh} from './helpers/daemon.js'
import {sideBySide} from './helpers/side-by-side.js'

function fakeSys() {
  const root = scratchDir('vctl-pages-')
  const paths = {node: join(root, 'node'), hugepages: join(root, 'hugepages'), meminfo: join(root, 'meminfo')}
  writeFileSync(paths.meminfo, 'MemTotal:  8000 kB\nMemFree:   4000 kB\n')
  for (const n of [0, 1]) {
    const d = join(paths.node, `node${n}`)
    mkdirSync(join(d, 'hugepages/hugepages-2048kB'), {recursive: true})
    writeFileSync(join(d, 'meminfo'), `Node ${n} MemTotal: 4000 kB\nNode ${n} MemFree:   ${1000 + n * 400} kB\n`)
    writeFileSync(join(d, 'hugepages/hugepages-2048kB/free_hugepages'), `${n + 3}\n`)
    writeFileSync(join(d, 'hugepages/hugepages-2048kB/nr_hugepages'), `${n + 5}\n`)
  }
  mkdirSync(join(paths.hugepages, 'hugepages-2048kB'), {recursive: true})
  writeFileSync(join(paths.hugepages, 'hugepages-2048kB/free_hugepages'), '7\n')
  writeFileSync(join(paths.hugepages, 'hugepages-2048kB/nr_hugepages'), '11\n')
  return paths
}

const message = (t: ExecutionContext, f: () => unknown) => t.throws(f, {instanceOf: VirError})?.message

test('free pages: system pages from MemFree, huge pages from free_hugepages, cell by cell; -1 is the whole host', (t) => {
  const p = fakeSys()
  t.deepEqual(hostFreePages([4, 2048], 0, 2, p), [250n, 3n, 350n, 4n])
  t.deepEqual(hostFreePages([2048], 1, 5, p), [4n])
  t.deepEqual(hostFreePages([4, 2048], -1, 1, p), [1000n, 7n])
  t.is(
    message(t, () => hostFreePages([3], 0, 1, p)),
    'operation failed: page size 3 is not available on node 0',
  )
  t.is(
    message(t, () => hostFreePages([2048], 2, 1, p)),
    'internal error: start cell 2 out of range (0-1)',
  )
})

test('alloc pages: adds to or sets nr_hugepages per cell, refuses the system pool and unknown sizes', (t) => {
  const p = fakeSys()
  const nr = (cell: number) => readFileSync(join(p.node, `node${cell}`, 'hugepages/hugepages-2048kB/nr_hugepages'), 'utf8').trim()
  t.is(hostAllocPages([2048], [2n], 0, 2, 0, p), 2)
  t.deepEqual([nr(0), nr(1)], ['7', '8'])
  t.is(hostAllocPages([2048], [1n], 1, 1, 1, p), 1)
  t.is(nr(1), '1')
  t.is(hostAllocPages([2048], [3n], -1, 1, 1, p), 1)
  t.is(readFileSync(join(p.hugepages, 'hugepages-2048kB/nr_hugepages'), 'utf8'), '3')
  t.is(
    message(t, () => hostAllocPages([4], [1n], 0, 1, 0, p)),
    "Operation not supported: system pages pool can't be modified",
  )
  t.is(
    message(t, () => hostAllocPages([3], [1n], -1, 1, 0, p)),
    'operation failed: page size 3 is not available',
  )
})

test('node suspend: flags, target, and every target unsupported (the host is never suspended)', (t) => {
  t.is(
    message(t, () => hostSuspend(0, 60n, 1)),
    'unsupported flags (0x1) in function virNodeSuspend',
  )
  t.is(
    message(t, () => hostSuspend(5, 60n, 0)),
    'invalid argument: Invalid suspend target',
  )
  t.is(
    message(t, () => hostSuspend(0, 0n, 0)),
    'argument unsupported: Suspend-to-RAM',
  )
  t.is(
    message(t, () => hostSuspend(2, 60n, 0)),
    'argument unsupported: Hybrid-Suspend',
  )
})

const pair = sideBySide('vctl-pages-cmp-', {real: {hideKvm: true}})

/**
 * Whether libvirtd could actually suspend this host (logind on a system bus, or pm-utils): then only invalid targets
 * are sent to it. Here neither exists and libvirtd refuses every target.
 */
const hostMaySuspend = existsSync('/run/dbus/system_bus_socket') || existsSync('/usr/bin/pm-is-supported') || existsSync('/usr/sbin/pm-is-supported')

const VIRSH_CASES = [
  ['freepages'],
  ['freepages', '--cellno', '0', '--pagesize', '2048'],
  ['freepages', '--cellno', '0', '--pagesize', '3'],
  ['freepages', '--cellno', '4096', '--pagesize', '2048'],
  ['allocpages', '2048', '0', '--cellno', '0', '--add'],
  ['allocpages', '2048', '0', '--add'],
  ['allocpages', '3', '1'],
  ['allocpages', '2048', '0', '--cellno', '4096', '--add'],
  ['allocpages', '4', '10'],
  ['nodesuspend', 'bogus', '60'],
  ...(hostMaySuspend
    ? []
    : [
        ['nodesuspend', 'mem', '60'],
        ['nodesuspend', 'disk', '60'],
        ['nodesuspend', 'hybrid', '60'],
      ]),
]

test('virsh freepages, allocpages and nodesuspend answer as libvirtd 9.0', async (t) => {
  t.timeout(600_000)
  const {vctl, real} = await pair.start()
  const pool = readFileSync('/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages', 'utf8')
  for (const args of VIRSH_CASES) {
    const [a, b] = await Promise.all([virsh(vctl.uri('qemu'), args), virsh(real.uri, args, {timeout: 120000})])
    t.is(a.code, b.code, `${args.join(' ')}: ${a.stderr} | ${b.stderr}`)
    t.is(a.stdout + a.stderr, b.stdout + b.stderr, args.join(' '))
  }
  // --all prints every page size of every cell; the system page count moves with the host's free memory.
  const all = await Promise.all([virsh(vctl.uri('qemu'), ['freepages', '--all']), virsh(real.uri, ['freepages', '--all'], {timeout: 120000})])
  const shape = (s: string) => s.replace(/^(4KiB: )\d+$/m, '$1N')
  t.is(all[0].code, 0, all[0].stderr)
  t.is(shape(all[0].stdout), shape(all[1].stdout))
  t.is(readFileSync('/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages', 'utf8'), pool, 'the host hugepage pool is unchanged')
})

test('libvirt-python: getFreePages, allocPages and suspendForDuration errors and flags as libvirtd 9.0', async (t) => {
  t.timeout(600_000)
  const {vctl, real} = await pair.start()
  const code = `
import json, sys, libvirt
libvirt.registerErrorHandler(lambda *a: None, None)
c = libvirt.open(sys.argv[1])
out = []
def call(f, *a):
    try:
        r = f(*a)
        out.append({'ok': r if not isinstance(r, dict) else {str(k): {str(s): (n if s != 4 else 'N') for s, n in v.items()} for k, v in r.items()}})
    except libvirt.libvirtError as e:
        out.append({'err': [e.get_error_code(), e.get_error_domain(), e.get_error_message()]})
call(c.getFreePages, [2048], 0, 1, 0)
call(c.getFreePages, [2048], 0, 1, 1)
call(c.getFreePages, [2048, 4], -1, 1, 0)
call(c.getFreePages, [3], -1, 1, 0)
call(c.allocPages, {2048: 0}, 0, 1, 0)
call(c.allocPages, {2048: 0}, 0, 1, 2)
call(c.allocPages, {2048: 0}, -1, 1, 0)
call(c.allocPages, {4: 1}, 0, 1, 0)
call(c.suspendForDuration, 0, 60, 1)
call(c.suspendForDuration, 5, 60, 0)
if sys.argv[2] == 'yes':
    call(c.suspendForDuration, 1, 60, 0)
print(json.dumps(out))
`
  const [a, b] = await Promise.all(
    [vctl.uri('qemu'), real.uri].map((u) => run('/usr/bin/python3', ['-c', code, u, hostMaySuspend ? 'no' : 'yes'], {timeout: 300000})),
  )
  t.is(a.code, 0, a.stderr)
  t.is(b.code, 0, b.stderr)
  t.deepEqual(JSON.parse(a.stdout), JSON.parse(b.stdout))
})
