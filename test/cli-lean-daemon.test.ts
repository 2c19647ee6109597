// The fast path bin/run.js takes for `vctl daemon start` parses the same flags as the oclif command,
// and hands everything unusual back to oclif.
import test from 'ava'
import DaemonStart from '../src/commands/daemon/start.js'
import {LEAN_DAEMON_FLAGS, parseLean} from '../src/lib/cli/daemon-main.js'

test('the lean parser knows every flag of daemon start, with the same short names and kinds', (t) => {
  const handedToOclif = new Set(['help', 'version'])
  const oclif = Object.entries(DaemonStart.flags).filter(([name]) => !handedToOclif.has(name))
  t.deepEqual(Object.keys(LEAN_DAEMON_FLAGS).sort(), oclif.map(([name]) => name).sort())
  const lean: Record<string, {type: string; short?: string}> = LEAN_DAEMON_FLAGS
  for (const [name, flag] of oclif) {
    t.is(lean[name].short, flag.char, `short flag of --${name}`)
    t.is(lean[name].type, flag.type === 'boolean' ? 'boolean' : 'string', `kind of --${name}`)
  }
})

test('common command lines are parsed on the fast path', (t) => {
  t.deepEqual(parseLean([]), {timeout: undefined})
  t.deepEqual(parseLean(['--root', '/tmp/r', '-d']), {root: '/tmp/r', daemon: true, timeout: undefined})
  t.deepEqual(parseLean(['--driver=qemu', '-t', '120', '-v', '-p', '/run/x.pid']), {
    driver: 'qemu',
    timeout: 120,
    verbose: true,
    'pid-file': '/run/x.pid',
  })
  t.deepEqual(parseLean(['-f', 'libvirtd.conf', '-l', '--session']), {config: 'libvirtd.conf', listen: true, session: true, timeout: undefined})
})

test('help, version, unknown flags and values oclif rejects go to oclif', (t) => {
  for (const argv of [
    ['--help'],
    ['-h'],
    ['--version'],
    ['--bogus'],
    ['extra-argument'],
    ['--timeout', '0'],
    ['--timeout', 'soon'],
    ['--session', '--system'],
    ['--root'],
    ['--root', ''],
  ]) {
    t.is(parseLean(argv), undefined, argv.join(' '))
  }
})
