// The real virsh's net-* family against vctl's network driver (libvirtd in a network namespace of
// its own) and against Debian's real libvirtd 9.0 (in another namespace), for the same XML: same
// exit codes and output. And the real parts behind it: bridge, dnsmasq, nft table, made and removed.
import test, {type ExecutionContext} from 'ava'
import {rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {isRunning, run, startDaemon, tempRoot, vctl as vctlCli, virsh, waitExit, type RunResult} from './helpers/daemon.js'
import {netnsDaemon, nsExec, realLibvirtd, type NetnsDaemon} from './helpers/netns.js'

let vctl: NetnsDaemon
let real: Awaited<ReturnType<typeof realLibvirtd>> | undefined
const dir = tempRoot('vctl-netxml-')
let hostHadVirbr0 = false

const files: Record<string, string> = {
  n1: `<network>
  <name>n1</name>
  <uuid>c081a82e-1eef-4e28-8bdb-bd9a8bd5f8b2</uuid>
  <forward mode='nat'/>
  <mac address='52:54:00:5f:f0:58'/>
  <ip address='192.168.150.1' netmask='255.255.255.0'>
    <dhcp>
      <range start='192.168.150.2' end='192.168.150.254'/>
      <host mac='52:54:00:00:00:11' name='g1' ip='192.168.150.11'/>
    </dhcp>
  </ip>
</network>
`,
  overlap: `<network><name>n2</name><forward mode='nat'/><ip address='192.168.150.5' netmask='255.255.255.0'/></network>`,
  bogus: `<network><name>n3</name><forward mode='bogus'/></network>`,
  samebridge: `<network><name>n5</name><bridge name='virbr1'/><ip address='10.9.0.1' prefix='24'/></network>`,
  malformed: `<network><name>bad`,
  hostbridge: `<network><name>b5</name><bridge name='vexist0'/><ip address='10.55.0.1' prefix='24'/></network>`,
  bridgeip: `<network><name>b7</name><forward mode='bridge'/><bridge name='nosuch'/><ip address='10.56.0.1' prefix='24'/></network>`,
  bridgenoname: `<network><name>b8</name><forward mode='bridge'/></network>`,
  t1: `<network><name>t1</name><uuid>5d1e5a1c-2f39-4f0e-9a55-0d7f8a1b2c3d</uuid><bridge name='vt1' stp='off'/><mac address='52:54:00:11:22:33'/><ip address='10.77.0.1' prefix='24'/></network>`,
}

test.before(async () => {
  hostHadVirbr0 = (await run('ip', ['link', 'show', 'virbr0'])).code === 0
  for (const [k, v] of Object.entries(files)) writeFileSync(join(dir, `${k}.xml`), v)
  vctl = await netnsDaemon('nv')
  await vctl.start()
  try {
    real = await realLibvirtd('nr')
  } catch (err) {
    console.log(`real libvirtd unavailable, vctl alone is checked: ${(err as Error).message}`)
  }
})

test.after.always(async () => {
  await vctl?.cleanup()
  await real?.cleanup()
  rmSync(dir, {recursive: true, force: true})
})

/** virsh on vctl's URI, its result checked against the same command on the real libvirtd. */
async function both(t: ExecutionContext, args: string[], opts: {sameOutput?: boolean} = {}): Promise<RunResult> {
  const mine = await virsh(vctl.uri, args)
  if (real) {
    const theirs = await virsh(real.uri, args)
    t.is(mine.code, theirs.code, `exit code of virsh ${args.join(' ')}: ${mine.stderr} / ${theirs.stderr}`)
    if (opts.sameOutput !== false) {
      t.is(mine.stdout, theirs.stdout, `stdout of virsh ${args.join(' ')}`)
      t.is(mine.stderr, theirs.stderr, `stderr of virsh ${args.join(' ')}`)
    }
  }
  return mine
}

const f = (k: string) => join(dir, `${k}.xml`)
/** Not `nft`: ava's PATH has node_modules/.bin first, where another tool has that name. */
const NFT = '/usr/sbin/nft'

async function dnsmasqPid(name: string): Promise<number | undefined> {
  const r = await run('cat', [join(vctl.root, 'run/libvirt/network', `${name}.pid`)])
  return r.code === 0 ? Number(r.stdout.trim()) : undefined
}

test.serial('define, start, info, update, leases, destroy, undefine: as libvirtd', async (t) => {
  t.is((await both(t, ['net-define', f('n1')])).code, 0)
  await both(t, ['net-dumpxml', 'n1'])
  await both(t, ['net-dumpxml', '--inactive', 'n1'])
  t.is((await both(t, ['net-start', 'n1'])).code, 0)
  const live = await both(t, ['net-dumpxml', 'n1'])
  t.regex(live.stdout, /<bridge name='virbr1' stp='on' delay='0'\/>/)
  t.regex(live.stdout, /<nat>\n\s+<port start='1024' end='65535'\/>/)
  await both(t, ['net-info', 'n1'])
  await both(t, ['net-autostart', 'n1'])
  await both(t, ['net-info', 'n1'])
  await both(t, ['net-autostart', '--disable', 'n1'])
  await both(t, ['net-start', 'n1'])

  // The real parts: a bridge with the network's address, dnsmasq, one nft table of our own.
  const addr = await vctl.exec('ip', ['-o', 'addr', 'show', 'dev', 'virbr1'])
  t.regex(addr.stdout, /inet 192\.168\.150\.1\/24/)
  const pid = await dnsmasqPid('n1')
  t.truthy(pid && isRunning(pid), 'dnsmasq runs')
  t.is((await vctl.exec(NFT, ['list', 'table', 'inet', 'vctl_virbr1'])).code, 0)

  const host = "<host mac='52:54:00:00:00:12' name='g2' ip='192.168.150.12'/>"
  await both(t, ['net-update', 'n1', 'add', 'ip-dhcp-host', host, '--live', '--config'])
  await both(t, ['net-dumpxml', 'n1'])
  await both(t, ['net-dumpxml', '--inactive', 'n1'])
  const hosts = await run('cat', [join(vctl.root, 'var/lib/libvirt/network/dnsmasq/n1.hostsfile')])
  t.is(hosts.stdout, '52:54:00:00:00:11,192.168.150.11,g1\n52:54:00:00:00:12,192.168.150.12,g2\n')
  await both(t, ['net-update', 'n1', 'delete', 'ip-dhcp-host', "<host mac='52:54:00:00:00:99'/>", '--live'])
  await both(t, ['net-update', 'n1', 'modify', 'ip-dhcp-host', "<host mac='52:54:00:00:00:12' name='g2' ip='192.168.150.22'/>"])
  await both(t, ['net-update', 'n1', 'add', 'dns-host', "<host ip='192.168.150.50'><hostname>foo</hostname></host>", '--live'])
  await both(t, ['net-dumpxml', 'n1'])
  await both(t, ['net-dhcp-leases', 'n1'])
  await both(t, ['net-dhcp-leases', 'n1', '--mac', '52:54:00:00:00:99'])
  await both(t, ['net-port-list', 'n1'])

  t.is((await both(t, ['net-destroy', 'n1'])).code, 0)
  await both(t, ['net-destroy', 'n1'])
  t.not((await vctl.exec('ip', ['link', 'show', 'virbr1'])).code, 0, 'bridge removed')
  t.not((await vctl.exec(NFT, ['list', 'table', 'inet', 'vctl_virbr1'])).code, 0, 'nft table removed')
  if (pid) t.true(await waitExit(pid, 30000), 'dnsmasq stopped')
  await both(t, ['net-info', 'n1'])
  t.is((await both(t, ['net-undefine', 'n1'])).code, 0)
  await both(t, ['net-info', 'n1'])
})

test.serial('transient networks: create, list, destroy', async (t) => {
  t.is((await both(t, ['net-create', f('t1')])).code, 0)
  await both(t, ['net-info', 't1'])
  await both(t, ['net-dumpxml', 't1'])
  await both(t, ['net-list', '--transient'])
  await both(t, ['net-autostart', 't1'])
  t.is((await both(t, ['net-destroy', 't1'])).code, 0)
  await both(t, ['net-info', 't1'])
})

test.serial('bad input: libvirt errors, nothing left behind', async (t) => {
  await both(t, ['net-define', f('n1')])
  await both(t, ['net-start', 'n1'])
  const before = (await vctl.exec('ip', ['-o', 'link'])).stdout
  const tables = (await vctl.exec(NFT, ['list', 'tables'])).stdout
  t.is((await both(t, ['net-create', f('overlap')])).code, 1)
  t.is((await both(t, ['net-define', f('bogus')])).code, 1)
  t.is((await both(t, ['net-create', f('samebridge')])).code, 1)
  t.is((await both(t, ['net-define', f('bridgeip')])).code, 1)
  t.is((await both(t, ['net-define', f('bridgenoname')])).code, 0)
  await both(t, ['net-undefine', 'b8'])
  // A device of that name exists already (made by the admin, not by a network).
  await vctl.exec('ip', ['link', 'add', 'vexist0', 'type', 'bridge'])
  if (real) await nsExec(real.ns, 'ip', ['link', 'add', 'vexist0', 'type', 'bridge'])
  const tablesBefore = (await vctl.exec(NFT, ['list', 'tables'])).stdout
  t.is((await both(t, ['net-create', f('hostbridge')])).code, 1)
  t.is((await vctl.exec(NFT, ['list', 'tables'])).stdout, tablesBefore)
  await vctl.exec('ip', ['link', 'del', 'vexist0'])
  if (real) await nsExec(real.ns, 'ip', ['link', 'del', 'vexist0'])
  // The parser's error text differs in its context lines; the code and the first line match.
  const bad = await both(t, ['net-define', f('malformed')], {sameOutput: false})
  t.is(bad.code, 1)
  t.regex(bad.stderr, /error: \(network_definition\):\d+: Premature end of data in tag name/)
  t.is((await vctl.exec('ip', ['-o', 'link'])).stdout, before, 'no device made')
  t.is((await vctl.exec(NFT, ['list', 'tables'])).stdout, tables, 'no nft table made')
  await both(t, ['net-list', '--all', '--name'], {sameOutput: false})
  await both(t, ['net-destroy', 'n1'])
  await both(t, ['net-undefine', 'n1'])
})

test.serial('kill -9 of the daemon: the network keeps running and is reattached; destroy then removes it all', async (t) => {
  t.is((await virsh(vctl.uri, ['net-define', f('n1')])).code, 0)
  t.is((await virsh(vctl.uri, ['net-start', 'n1'])).code, 0)
  const pid = await dnsmasqPid('n1')
  process.kill(vctl.pid, 'SIGKILL')
  t.true(await waitExit(vctl.pid, 30000))
  await vctl.start()
  t.regex((await virsh(vctl.uri, ['net-info', 'n1'])).stdout, /Active:\s+yes/)
  t.is(await dnsmasqPid('n1'), pid, 'the same dnsmasq')
  t.truthy(pid && isRunning(pid))
  t.is((await virsh(vctl.uri, ['net-destroy', 'n1'])).code, 0)
  t.not((await vctl.exec('ip', ['link', 'show', 'virbr1'])).code, 0)
  t.not((await vctl.exec(NFT, ['list', 'table', 'inet', 'vctl_virbr1'])).code, 0)
  if (pid) t.true(await waitExit(pid, 30000))
  t.is((await virsh(vctl.uri, ['net-undefine', 'n1'])).code, 0)
})

test.serial('the default network of a system daemon: defined, autostarted on virbr0', async (t) => {
  const r = await virsh(vctl.uri, ['net-info', 'default'])
  t.regex(r.stdout, /Active:\s+yes/)
  t.regex(r.stdout, /Autostart:\s+yes/)
  t.regex(r.stdout, /Bridge:\s+virbr0/)
  t.regex((await vctl.exec('ip', ['-o', 'addr', 'show', 'dev', 'virbr0'])).stdout, /192\.168\.122\.1\/24/)
  // virtinst (what virt-manager's New VM wizard builds guests with) picks it as the default network.
  const vi = await run(
    'virt-install',
    [
      '--connect',
      vctl.uri,
      '--name',
      'vx',
      '--memory',
      '128',
      '--import',
      '--disk',
      'none',
      '--osinfo',
      'detect=off,require=off',
      '--print-xml',
      '--dry-run',
    ],
    {timeout: 120000},
  )
  t.is(vi.code, 0, vi.stderr)
  t.regex(vi.stdout, /<interface type="network">\s*<source network="default"\/>/)
})

test.serial('vctl network commands, with --json', async (t) => {
  const c = ['-c', vctl.uri]
  const def = await vctlCli(['network', 'define', f('t1'), ...c, '--json'])
  t.is(def.code, 0, def.stderr)
  t.like(JSON.parse(def.stdout), {name: 't1', uuid: '5d1e5a1c-2f39-4f0e-9a55-0d7f8a1b2c3d'})
  t.is((await vctlCli(['network', 'start', 't1', ...c])).stdout, 'Network t1 started\n')
  t.is((await vctlCli(['network', 'autostart', 't1', ...c])).code, 0)
  const info = JSON.parse((await vctlCli(['network', 'info', 't1', ...c, '--json'])).stdout) as Record<string, unknown>
  t.deepEqual(info, {name: 't1', uuid: '5d1e5a1c-2f39-4f0e-9a55-0d7f8a1b2c3d', active: true, persistent: true, autostart: true, bridge: 'vt1'})
  const list = JSON.parse((await vctlCli(['network', 'list', '--all', ...c, '--json'])).stdout) as Array<{name: string}>
  t.deepEqual(
    list.map((n) => n.name),
    ['default', 't1'],
  )
  const upd = await vctlCli([
    'network',
    'update',
    't1',
    'add',
    'dns-host',
    "<host ip='10.77.0.9'><hostname>nine</hostname></host>",
    '--live',
    '--config',
    ...c,
  ])
  t.is(upd.stdout, 'Updated network t1 persistent config and live state\n', upd.stderr)
  t.regex((await vctlCli(['network', 'dumpxml', 't1', '--inactive', ...c])).stdout, /<hostname>nine<\/hostname>/)
  t.deepEqual(JSON.parse((await vctlCli(['network', 'leases', 't1', ...c, '--json'])).stdout), [])
  t.is((await vctlCli(['network', 'destroy', 't1', ...c])).code, 0)
  t.is((await vctlCli(['network', 'undefine', 't1', ...c])).code, 0)
  const gone = await vctlCli(['network', 'info', 't1', ...c])
  t.is(gone.code, 1)
  t.regex(gone.stderr, /failed to get network 't1'/)
})

test.serial("a --root daemon in the host's network namespace defines networks but never starts them", async (t) => {
  const host = await startDaemon()
  try {
    const uri = host.uri('qemu')
    t.regex((await virsh(uri, ['net-info', 'default'])).stdout, /Active:\s+no/)
    const r = await virsh(uri, ['net-start', 'default'])
    t.is(r.code, 1)
    t.regex(r.stderr, /does not create networks; run it in a network namespace of its own/)
    t.is((await run('ip', ['link', 'show', 'virbr0'])).code === 0, hostHadVirbr0, 'no bridge made on the host')
  } finally {
    await host.stop()
  }
})
