/**
 * A fleet driven by Ansible (issue 15): Debian's ansible-playbook with community.libvirt's virt and
 * virt_net modules, on an inventory of three vctl hosts reached over qemu+tcp from a controller in a
 * namespace of the test's own, converges each host (an isolated network, the tiny guest on it), stops
 * and removes them; a second run of each playbook changes nothing. What the playbooks did is read
 * back with virsh over the network. The same playbooks run against Debian's real libvirtd report the
 * same outcome task by task.
 */
import test, {type ExecutionContext} from 'ava'
import {mkdirSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {run, tempRoot} from './helpers/daemon.js'
import {startFleet, type Fleet} from './helpers/fleet.js'
import {countInLog, guestXml, POWEROFF, READY, waitForLog} from './helpers/guest.js'
import {inventory, outcomes, playbook, type PlaybookRun} from './helpers/ansible.js'
import {startHosts} from './helpers/two-hosts.js'

const N = 3
let fleet: Fleet | undefined
let dir = ''
const logs: string[] = []
/** The vctl fleet's runs (up, up, stop, stop, down, down), to compare with real libvirtd's. */
const vctlRuns: PlaybookRun[] = []
const SEQUENCE = ['fleet-up.yml', 'fleet-up.yml', 'fleet-stop.yml', 'fleet-stop.yml', 'fleet-down.yml', 'fleet-down.yml']

const NET_XML = `<network>
  <name>fleetnet</name>
  <bridge name='vfleet0'/>
  <ip address='192.168.150.1' netmask='255.255.255.0'>
    <dhcp><range start='192.168.150.10' end='192.168.150.50'/></dhcp>
  </ip>
</network>
`

/** The tiny guest on fleetnet; with a UUID the module's redefinition compares XML, without one libvirt refuses the clash (code 9). */
function fleetGuest(i: number, log: string, uuid?: string): string {
  const nic = `    <interface type='network'>
      <mac address='52:54:00:fe:00:0${i}'/>
      <source network='fleetnet'/>
      <model type='virtio'/>
    </interface>`
  const xml = guestXml(`fleet${i}`, log, nic)
  return uuid ? xml.replace('</name>', `</name>\n  <uuid>${uuid}</uuid>`) : xml
}

/**
 * Writes an inventory of hosts reached at `uris` (under `tag`: its XML files and serial logs) and returns its path.
 * Host 0's guest carries its UUID and is stopped by pulling the plug; the others have none and get the power button.
 */
function writeInventory(tag: string, uris: string[]): string {
  writeFileSync(join(dir, 'net.xml'), NET_XML)
  const hosts = uris.map((uri, i) => {
    const log = join(dir, `${tag}${i}.log`)
    if (tag === 'fleet') logs[i] = log
    const xml = join(dir, `${tag}${i}.xml`)
    writeFileSync(xml, fleetGuest(i, log, i === 0 ? 'c0ffee00-0000-4000-8000-000000000001' : undefined))
    const stop = i === 0 ? 'destroyed' : 'shutdown'
    return {
      name: `h${i}`,
      vars: {libvirt_uri: uri, guest_name: `fleet${i}`, guest_xml_file: xml, net_xml_file: join(dir, 'net.xml'), stop_state: stop},
    }
  })
  const inv = join(dir, `${tag}.ini`)
  writeFileSync(inv, inventory(hosts))
  return inv
}

test.before(async () => {
  dir = tempRoot('vctl-fleet-')
  mkdirSync(dir, {recursive: true})
  fleet = await startFleet('fa', N)
})

test.after.always(async () => {
  await fleet?.cleanup()
  rmSync(dir, {recursive: true, force: true})
})

function recapOf(run: PlaybookRun, host: string): string {
  const r = run.recap[host]
  return `ok=${r.ok} changed=${r.changed} failed=${r.failures} skipped=${r.skipped} unreachable=${r.unreachable}`
}

test.serial('virsh -c qemu+tcp://HOST/system reaches each host from the controller', async (t) => {
  const f = fleet!
  for (let i = 0; i < N; i++) {
    const list = await f.virsh(i, ['list', '--all'])
    t.is(list.code, 0, list.stderr)
    t.regex(list.stdout, /Id\s+Name\s+State/)
    // Each address reaches its own host: the capabilities name that host's UUID.
    t.true((await f.virsh(i, ['capabilities'])).stdout.includes(`<uuid>${f.hosts[i].hostUuid}</uuid>`))
  }
})

test.serial('a playbook defines, starts, lists and stops a guest on each of three hosts; second runs change nothing', async (t) => {
  t.timeout(900000)
  const f = fleet!
  const inv = writeInventory(
    'fleet',
    f.hosts.map((h) => h.remoteUri),
  )
  const names = f.hosts.map((_, i) => `h${i}`)
  const play = async (name: string) => {
    const r = await playbook(f.exec, dir, name, inv)
    vctlRuns.push(r)
    return r
  }

  const up = await play('fleet-up.yml')
  t.is(up.code, 0, up.why)
  for (const h of names) t.is(recapOf(up, h), 'ok=12 changed=5 failed=0 skipped=0 unreachable=0', h)
  for (let i = 0; i < N; i++) {
    t.is((await f.virsh(i, ['domstate', `fleet${i}`])).stdout.trim(), 'running')
    t.regex((await f.virsh(i, ['net-list'])).stdout, /fleetnet\s+active\s+yes\s+yes/)
  }
  await Promise.all(logs.map((log) => waitForLog(log, 'VCTL-GUEST IP 192.168.150.', 1, 180000)))

  const again = await play('fleet-up.yml')
  t.is(again.code, 0, again.why)
  for (const h of names) t.is(recapOf(again, h), 'ok=12 changed=0 failed=0 skipped=0 unreachable=0', h)
  for (const log of logs) t.is(countInLog(log, READY), 1, 'the second run left the running guests alone')

  const stop = await play('fleet-stop.yml')
  t.is(stop.code, 0, stop.why)
  for (const h of names) t.is(recapOf(stop, h), 'ok=2 changed=1 failed=0 skipped=0 unreachable=0', h)
  t.is((await f.virsh(0, ['domstate', '--reason', 'fleet0'])).stdout.trim(), 'shut off (destroyed)')
  for (let i = 1; i < N; i++) {
    t.is((await f.virsh(i, ['domstate', '--reason', `fleet${i}`])).stdout.trim(), 'shut off (shutdown)')
    t.is(countInLog(logs[i], POWEROFF), 1)
  }
  const stopAgain = await play('fleet-stop.yml')
  for (const h of names) t.is(recapOf(stopAgain, h), 'ok=2 changed=0 failed=0 skipped=0 unreachable=0', h)

  const down = await play('fleet-down.yml')
  t.is(down.code, 0, down.why)
  for (let i = 0; i < N; i++) {
    t.is((await f.virsh(i, ['list', '--all', '--name'])).stdout.trim(), '')
    t.false((await f.virsh(i, ['net-list', '--all', '--name'])).stdout.split('\n').includes('fleetnet'))
  }
  const downAgain = await play('fleet-down.yml')
  for (const h of names) t.is(recapOf(downAgain, h), 'ok=2 changed=0 failed=0 skipped=2 unreachable=0', h)
})

test.serial('the same playbooks against two real libvirtd 9.0 hosts report the same outcome, task by task', async (t) => {
  t.timeout(900000)
  if (vctlRuns.length !== SEQUENCE.length) return t.fail('the vctl fleet run did not complete')
  const real = await startHosts('far', 2, '', ['libvirtd', 'libvirtd'])
  try {
    const [r0, r1] = real.hosts
    // The controller sits in the first real host's namespace, which reaches both over the veth pair.
    const exec = (cmd: string, args: string[], o: {env: NodeJS.ProcessEnv; timeout: number}) => run('ip', ['netns', 'exec', r0.ns, cmd, ...args], o)
    const inv = writeInventory('real', [r0.tcpUri, r1.tcpUri])
    for (const [k, name] of SEQUENCE.entries()) {
      const r = await playbook(exec, dir, name, inv)
      t.is(r.code, 0, `${name}: ${r.why}`)
      for (const h of ['h0', 'h1']) t.deepEqual(outcomes(vctlRuns[k], h), outcomes(r, h), `${name} (run ${k + 1}) on ${h}`)
      if (k === 0) compareFacts(t, vctlRuns[k], r)
    }
  } finally {
    await real.cleanup()
  }
})

/** What the read-back tasks of fleet-up returned on host h0 of each run, in the fields both hypervisors must agree on. */
function compareFacts(t: ExecutionContext, vctlUp: PlaybookRun, realUp: PlaybookRun): void {
  const pick = (run: PlaybookRun, task: string) => run.tasks.find((x) => x.task === task && x.host === 'h0')?.result ?? {}
  const facts = (run: PlaybookRun) => {
    const guest = pick(run, 'Guest info').fleet0 as Record<string, unknown>
    const nets = pick(run, 'Network info').networks as Record<string, Record<string, unknown>>
    const node = pick(run, 'Node info')
    const net = nets.fleetnet
    return {
      list: pick(run, 'Running guests').list_vms,
      guest: [guest.state, guest.maxMem, guest.memory, guest.nrVirtCpu, guest.autostart],
      net: [net.autostart, net.persistent, net.state, net.bridge, 'forward_mode' in net, 'domain' in net, 'macaddress' in net],
      node: [Object.keys(node).sort(), node.cpumodel, node.cpus, node.numanodes, node.sockets, node.cpucores, node.cputhreads],
      type: pick(run, 'Hypervisor type').virttype,
    }
  }
  t.deepEqual(facts(vctlUp), facts(realUp))
}
