// The test driver's guest statistics and guest control against libvirt's own test driver
// (`virsh -c test:///default`, in-process): the same commands on the preset `test` domain give the
// same exit codes and output (time-derived counters masked); libvirt-python checks the raw calls.
import test from 'ava'
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {python, startDaemon, virsh, vctl, type TestDaemon} from './helpers/daemon.js'
import {linuxKeyFromString, toQnum, KeycodeSet} from '../src/lib/keycodes.js'

let d: TestDaemon

test.before(async () => {
  d = await startDaemon()
})
test.after.always(async () => {
  await d.stop()
})

const mask = (s: string) => s.replace(/\d{9,}/g, 'N')

const COMMANDS = [
  ['domblkstat', 'test', 'vda'],
  ['domblkstat', 'test', 'vda', '--human'],
  ['domblkstat', 'test'],
  ['domblkstat', 'test', 'hda'],
  ['domifstat', 'test', 'testnet0'],
  ['domifstat', 'test', 'aa:bb:cc:dd:ee:ff'],
  ['domifstat', 'test', 'vnet0'],
  ['dommemstat', 'test'],
  ['domblkinfo', 'test', 'vda'],
  ['domblkinfo', 'test', '--all'],
  ['domblkinfo', 'test', 'vdz'],
  ['domjobinfo', 'test'],
  ['domjobinfo', 'test', '--completed'],
  ['domifaddr', 'test'],
  ['domifaddr', 'test', '--source', 'arp'],
  ['domifaddr', 'test', '--source', 'agent'],
  ['domstats', '--perf', '--enforce'],
  ['domstats', '--block'],
  ['domstats', '--vcpu', '--balloon'],
  ['send-key', 'test', 'KEY_A'],
  ['send-key', 'test', '--codeset', 'usb', '4'],
  ['send-key', 'test', 'nosuchkey'],
  ['send-key', 'test', '999'],
  ['inject-nmi', 'test'],
  ['domcontrol', 'test'],
  ['domhostname', 'test'],
  ['domtime', 'test'],
  ['domtime', 'test', '--now'],
]

test.serial('virsh on the test driver answers as libvirt test:///default does', async (t) => {
  for (const c of COMMANDS) {
    const [ours, ref] = await Promise.all([virsh(d.uri(), c), virsh('test:///default', c)])
    t.is(ours.code, ref.code, `exit code of virsh ${c.join(' ')}: ${ours.stderr}`)
    t.is(mask(ours.stdout + ours.stderr), mask(ref.stdout + ref.stderr), `virsh ${c.join(' ')}`)
  }
})

test.serial('domstats returns only the groups asked for: the test driver has state (and empty iothread)', async (t) => {
  const all = await virsh(d.uri(), ['domstats'])
  t.regex(all.stdout, /state\.state=1\n\s+state\.reason=\d\n/)
  t.notRegex(all.stdout, /vcpu|balloon|cpu\.time/)
  const none = await virsh(d.uri(), ['domstats', '--vcpu'])
  t.is(none.stdout.trim(), "Domain: 'test'")
})

test.serial('read-only connections may read statistics but not send keys, dump or ask the guest', async (t) => {
  const ro = (args: string[]) => virsh(d.uri('test', true), args)
  t.is((await ro(['dommemstat', 'test'])).code, 0)
  t.is((await ro(['domblkinfo', 'test', 'vda'])).code, 0)
  for (const args of [
    ['send-key', 'test', 'KEY_A'],
    ['inject-nmi', 'test'],
    ['domhostname', 'test'],
    ['domtime', 'test'],
  ]) {
    const r = await ro(args)
    t.is(r.code, 1, args.join(' '))
    t.regex(r.stderr, /read only access prevents virDomain/, args.join(' '))
  }
})

test.serial('vctl domain stats --group, send-key and dump', async (t) => {
  const c = ['-c', d.uri()]
  const st = await vctl(['domain', 'stats', 'test', '--group', 'state', '--json', ...c])
  t.is(st.code, 0, st.stderr)
  const parsed = JSON.parse(st.stdout) as Array<{name: string; stats: Record<string, unknown>}>
  t.deepEqual(Object.keys(parsed[0].stats), ['state.state', 'state.reason'])
  t.is((await vctl(['domain', 'send-key', 'test', 'KEY_LEFTCTRL', 'c', ...c])).code, 0)
  const bad = await vctl(['domain', 'send-key', 'test', 'KEY_NOPE', ...c])
  t.not(bad.code, 0)
  t.regex(bad.stderr, /invalid keycode: 'KEY_NOPE'/)
  const file = join(d.root, 'test.core')
  const dump = await vctl(['domain', 'dump', 'test', file, ...c])
  t.is(dump.code, 0, dump.stderr)
  t.true(existsSync(file))
  t.is(readFileSync(file, 'latin1'), 'TestGuestMagic\0')
})

test.serial('libvirt-python (last: it destroys the preset domain): raw calls and their errors on the test driver', async (t) => {
  const code = `
import libvirt, sys
c = libvirt.open(sys.argv[1] if len(sys.argv) > 1 else '${d.uri()}')
d = c.lookupByName('test')
def err(f):
    try:
        f(); return 'ok'
    except libvirt.libvirtError as e:
        return '%d/%d %s' % (e.get_error_code(), e.get_error_domain(), e.get_error_message())
print(d.memoryStats()['actual'], d.memoryStats()['rss'])
print(d.blockInfo('vda'))
print(d.controlInfo())
print(d.getTime())
print(d.hostname())
print(sorted(d.interfaceAddresses(0).items()))
print(err(lambda: d.blockStatsFlags('vda')))
print(err(lambda: d.jobInfo()))
print(err(lambda: d.sendKey(0, 0, [30], 1, 1)))
print(err(lambda: d.coreDumpWithFormat('/tmp/vctl-nope/x', 1, 0)))
print(err(lambda: d.coreDump('/nonexistent-dir/x', 0)))
print(err(lambda: c.getAllDomainStats(0x3ff, 0x80000000)))
print([sorted(s.keys()) for _, s in c.getAllDomainStats(1)])
d.setTime({'seconds': 5, 'nseconds': 7}); print(d.getTime())
d.destroy()
print(err(lambda: d.blockStats('vda')), err(lambda: d.getTime()), err(lambda: d.memoryStats()))
print(d.blockInfo('vda'))
`
  const ours = await python(code)
  t.is(ours.code, 0, ours.stderr)
  const lines = ours.stdout.trim().split('\n')
  t.deepEqual(lines.slice(0, 3), ['2097152 1048576', '[1099506450432, 1099511627776, 1099511627776]', '[0, 0, 0]'])
  // domtime --now in the first test set the guest clock to the host's.
  t.regex(lines[3], /^\{'seconds': \d+, 'nseconds': 0\}$/)
  t.is(lines[4], 'testhost')
  t.is(lines[5], "[('testnet0', {'addrs': [{'addr': '192.168.122.3', 'prefix': 24, 'type': 0}], 'hwaddr': 'aa:bb:cc:dd:ee:ff'})]")
  t.is(lines[6], '3/20 this function is not supported by the connection driver: virDomainBlockStatsFlags')
  t.is(lines[7], '3/20 this function is not supported by the connection driver: virDomainGetJobInfo')
  t.is(lines[8], '8/12 unsupported flags (0x1) in function testDomainSendKey')
  t.is(lines[9], '84/12 Operation not supported: kdump-compressed format is not supported here')
  t.is(lines[10], "38/12 domain 'test' coredump: failed to open /nonexistent-dir/x: No such file or directory")
  t.is(lines[11], '74/12 argument unsupported: Stats types bits 0x37e are not supported by this daemon')
  t.is(lines[12], "[['state.reason', 'state.state']]")
  t.is(lines[13], "{'seconds': 5, 'nseconds': 7}")
  t.is(
    lines[14],
    '55/20 Requested operation is not valid: domain is not running 55/12 Requested operation is not valid: domain is not running 55/20 Requested operation is not valid: domain is not running',
  )
  t.is(lines[15], '[1099506450432, 1099511627776, 1099511627776]')
})

test('key codes: names and every code set translate to the numbers QEMU takes', (t) => {
  t.is(linuxKeyFromString('KEY_A'), 30)
  t.is(linuxKeyFromString('kpdot'), 83)
  t.is(linuxKeyFromString('KEY_LEFTMETA'), 125)
  t.is(linuxKeyFromString('42'), 42)
  t.is(linuxKeyFromString('KEY_NOPE'), -1)
  t.is(toQnum(KeycodeSet.LINUX, 30), 30)
  t.is(toQnum(KeycodeSet.LINUX, 103), 0xc8)
  t.is(toQnum(KeycodeSet.XT, 30), 30)
  t.is(toQnum(KeycodeSet.XT_KBD, 0x148), 0xc8)
  t.is(toQnum(KeycodeSet.USB, 4), 30)
  t.is(toQnum(KeycodeSet.USB, 0xe0), 29)
  t.is(toQnum(KeycodeSet.WIN32, 65), 30)
  t.is(toQnum(KeycodeSet.QNUM, 0xc8), 0xc8)
  t.is(toQnum(KeycodeSet.LINUX, 999), -1)
  t.is(toQnum(KeycodeSet.OSX, 0), -1)
})
