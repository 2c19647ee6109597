/**
 * The SSH transport: a private sshd (key authentication) in a network namespace beside vctl's
 * daemon; the real virsh runs `qemu+ssh://root@127.0.0.1:PORT/system`, whose far side runs vctl's
 * virt-ssh-helper (or `nc -U` with proxy=netcat); vctl's own client speaks qemu+ssh:// too.
 */
import test from 'ava'
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {BIN} from './helpers/daemon.js'
import {guestXml} from './helpers/guest.js'
import {startSystemNamespace, stopChild, type SystemNamespace} from './helpers/system-ns.js'
import {clientInNetns, startSshd, type Sshd} from './helpers/sshd.js'

const PORT = 2222
let ns: SystemNamespace
let sshd: Sshd

test.before(async () => {
  ns = await startSystemNamespace('vctl-ssh-', 'vctl', {netns: true})
  const xmlFile = join(ns.root, 'sshguest.xml')
  writeFileSync(xmlFile, guestXml('sshguest', join(ns.root, 'sshguest.log')))
  const def = await ns.virsh(['define', xmlFile])
  if (def.code !== 0) throw new Error(`define: ${def.stderr}`)
  sshd = await startSshd(join(ns.root, 'ssh'), ns.netns!, join(ns.root, 'run/libvirt'), PORT, true)
})

test.after.always(async () => {
  await stopChild(sshd?.child)
  await ns?.stop()
})

const uri = (extra = ''): string => `qemu+ssh://root@127.0.0.1:${PORT}/system?keyfile=${sshd.key}&no_verify=1${extra}`

test.serial('virsh over qemu+ssh lists the host guests through vctl virt-ssh-helper', async (t) => {
  const r = await clientInNetns(ns.netns!, ['virsh', '-c', uri(), 'list', '--all'])
  t.is(r.code, 0, r.stderr)
  t.regex(r.stdout, /-\s+sshguest\s+shut off/)
  // The far side ran vctl's helper with the URI stripped of transport, host and client parameters.
  t.true(existsSync(sshd.helperLog))
  t.is(readFileSync(sshd.helperLog, 'utf8').trim().split('\n').at(-1), 'qemu:///system')
  const uriOut = await clientInNetns(ns.netns!, ['virsh', '-c', uri(), 'uri'])
  t.is(uriOut.stdout.trim(), uri())
})

test.serial('virsh -r over qemu+ssh gets a read-only connection', async (t) => {
  const r = await clientInNetns(ns.netns!, ['virsh', '-r', '-c', uri(), 'start', 'sshguest'])
  t.not(r.code, 0)
  t.regex(r.stderr, /operation forbidden: read only access prevents virDomainCreate/)
  t.is(readFileSync(sshd.helperLog, 'utf8').trim().split('\n').at(-1), '-r qemu:///system')
})

test.serial('proxy=netcat reaches the daemon socket with nc -U', async (t) => {
  // netcat-openbsd is installed by scripts/install-system-deps.sh: without it this test fails, it does not pass.
  t.true(existsSync('/usr/bin/nc') || existsSync('/bin/nc'), 'nc installed (netcat-openbsd)')
  const before = readFileSync(sshd.helperLog, 'utf8')
  const r = await clientInNetns(ns.netns!, ['virsh', '-c', uri('&proxy=netcat'), 'list', '--all', '--name'])
  t.is(r.code, 0, r.stderr)
  t.is(r.stdout.trim(), 'sshguest')
  t.is(readFileSync(sshd.helperLog, 'utf8'), before, 'the helper was not run')
})

test.serial('vctl client speaks qemu+ssh', async (t) => {
  const r = await clientInNetns(ns.netns!, [process.execPath, BIN, 'domain', 'list', '--all', '-c', uri()])
  t.is(r.code, 0, r.stderr)
  t.regex(r.stdout, /sshguest/)
  const j = await clientInNetns(ns.netns!, [process.execPath, BIN, 'domain', 'list', '--all', '--json', '-c', uri()])
  t.is(j.code, 0, j.stderr)
  t.regex(j.stdout, /"sshguest"/)
})

test.serial('a key the server does not know is refused', async (t) => {
  const other = join(sshd.dir, 'client_ed25519.pub')
  const r = await clientInNetns(ns.netns!, ['virsh', '-c', `qemu+ssh://root@127.0.0.1:${PORT}/system?keyfile=${other}&no_verify=1&no_tty=1`, 'list'])
  t.not(r.code, 0)
  t.regex(r.stderr, /Permission denied|End of file while reading data/)
})
