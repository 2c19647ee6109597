// A daemon starts with what the host has: on this host, in a private mount namespace where the QEMU
// binary is hidden (a bind mount of /dev/null: no longer an executable file), vctl's libvirtd
// starts, logs one warning, serves qemu:///system the way libvirtd 9.0 does there (checked against
// the real one: the connection opens and lists no guest; getVersion, domain capabilities and define
// fail with its codes and messages) and its other drivers as usual.
import test from 'ava'
import {existsSync, readFileSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import {BIN, python, run, tempRoot, waitExit} from './helpers/daemon.js'

const QEMU = '/usr/bin/qemu-system-x86_64'
const usable = process.getuid?.() === 0 && existsSync('/usr/bin/unshare') && existsSync(QEMU)

const PROBE = `
import libvirt, sys, json
c = libvirt.open(sys.argv[1])
out = {}
def t(name, f):
    try:
        out[name] = ['ok', str(f())]
    except libvirt.libvirtError as e:
        out[name] = [e.get_error_code(), e.get_error_domain(), e.get_error_message()]
t('version', c.getVersion)
t('domcaps', lambda: c.getDomainCapabilities())
t('define', lambda: c.defineXML("<domain type='qemu'><name>x</name><memory>131072</memory><os><type arch='x86_64'>hvm</type></os></domain>"))
t('list', lambda: len(c.listAllDomains()))
t('guests', lambda: c.getCapabilities().count('<guest>'))
t('nodeinfo', lambda: c.getInfo()[0])
t('lookup', lambda: c.lookupByName('nope'))
print(json.dumps(out))
`

;(usable ? test : test.skip)('QEMU hidden: the daemon starts, qemu:///system answers as libvirtd 9.0 does, the other drivers serve', async (t) => {
  const root = tempRoot('vctl-noqemu-')
  const log = join(root, 'var/log/libvirt/libvirtd.log')
  t.teardown(() => rmSync(root, {recursive: true, force: true}))
  const r = await run('unshare', [
    '-m',
    '--propagation',
    'private',
    'sh',
    '-c',
    `mount --bind /dev/null ${QEMU} && exec ${process.execPath} ${BIN} daemon start --root ${root} -d`,
  ])
  t.is(r.code, 0, r.stderr + r.stdout)
  const pid = Number(readFileSync(join(root, 'run/libvirtd.pid'), 'utf8'))
  t.teardown(async () => {
    try {
      process.kill(pid, 'SIGTERM')
    } catch {
      // gone
    }
    await waitExit(pid)
  })
  const sock = join(root, 'run/libvirt/libvirt-sock')
  const probe = await python(`import sys; sys.argv = ['', 'qemu+unix:///system?socket=${sock}']\n${PROBE}`)
  t.is(probe.code, 0, probe.stderr)
  const out = JSON.parse(probe.stdout) as Record<string, Array<string | number>>
  // The codes and messages of Debian's libvirtd 9.0 with QEMU hidden the same way.
  t.deepEqual(out.version, [1, 10, 'internal error: Cannot find suitable emulator for x86_64'])
  t.deepEqual(out.domcaps, [67, 10, "unsupported configuration: unable to find any emulator to serve '(null)' architecture"])
  t.deepEqual(out.define, [67, 10, "unsupported configuration: No emulator found for arch 'x86_64'"])
  t.deepEqual(out.list, ['ok', '0'])
  t.deepEqual(out.guests, ['ok', '0'])
  t.deepEqual(out.nodeinfo, ['ok', 'x86_64'])
  t.deepEqual(out.lookup, [42, 10, "Domain not found: no domain with matching name 'nope'"])

  // The other drivers are unaffected.
  const secret = await run('virsh', ['-c', `secret+unix:///system?socket=${sock}`, 'secret-list'])
  t.is(secret.code, 0, secret.stderr)
  const testDrv = await run('virsh', ['-c', `test+unix:///default?socket=${sock}`, 'list', '--name'])
  t.is(testDrv.stdout.trim(), 'test')
  // One warning, naming the binary.
  const warnings = readFileSync(log, 'utf8')
    .split('\n')
    .filter((l) => l.includes('warning') && l.includes(QEMU))
  t.is(warnings.length, 1, readFileSync(log, 'utf8'))
})
