// vctl's systemd units: rendered facts, `systemd-analyze verify` on the installed files (isolated
// from the host's own libvirt units), `units install` / `units list`, the systemctl wrapper, and
// systemd-socket-activate driving the daemon with exactly what the socket units declare.
import test, {type ExecutionContext} from 'ava'
import {existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {basename, dirname, join} from 'node:path'
import {spawn} from 'node:child_process'
import type {Socket} from 'node:net'
import {BIN, connectUnix, run, virsh, vctl, waitFor} from './helpers/daemon.js'
import {
  DAEMON_UNITS,
  GENERATED_MARKER,
  allUnitNames,
  fillTemplate,
  installUnits,
  renderSysconfig,
  renderUnits,
  systemdQuote,
} from '../src/lib/systemd/units.js'
import {Systemctl, SystemctlError} from '../src/lib/systemd/systemctl.js'
import {roleForFdName} from '../src/lib/daemon/listeners.js'
import type {UnitsInstallResult} from '../src/commands/units/install.js'
import type {UnitListEntry} from '../src/commands/units/list.js'

const NODE = process.execPath
/** The lean daemon entry the services run (bin/vctl-daemon.cjs beside bin/run.js). */
const LEAN = join(dirname(BIN), 'vctl-daemon.cjs')

/** A temporary directory removed when the test ends. */
function tmp(t: ExecutionContext, prefix = 'vctl-units-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  t.teardown(() => rmSync(dir, {recursive: true, force: true}))
  return dir
}
/** oclif wraps error messages at the terminal width with a ` ›   ` gutter: join them back. */
const flat = (s: string) => s.replace(/\s*\n\s*›\s*/g, ' ')

/** Parses a unit file into section -> key -> values (keys may repeat). */
function parseUnit(text: string): Record<string, Record<string, string[]>> {
  const out: Record<string, Record<string, string[]>> = {}
  let section = ''
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (!line || line.startsWith('#')) continue
    const m = /^\[(.+)\]$/.exec(line)
    if (m) {
      section = m[1]
      out[section] ??= {}
      continue
    }
    const i = line.indexOf('=')
    const k = line.slice(0, i)
    ;(out[section][k] ??= []).push(line.slice(i + 1))
  }
  return out
}

const rendered = renderUnits({bin: BIN})
const byName = new Map(rendered.map((u) => [u.name, parseUnit(u.content)]))
const get = (unit: string, section: string, key: string) => byName.get(unit)?.[section]?.[key] ?? []
const words = (unit: string, section: string, key: string) => get(unit, section, key).flatMap((v) => v.split(/\s+/))

test('every daemon has its service and sockets, named as libvirt names them', (t) => {
  const expected = [
    'libvirtd.service',
    'libvirtd.socket',
    'libvirtd-ro.socket',
    'libvirtd-admin.socket',
    'libvirtd-tcp.socket',
    'libvirtd-tls.socket',
    ...['qemu', 'network', 'storage', 'secret', 'nodedev', 'nwfilter', 'interface'].flatMap((d) => [
      `virt${d}d.service`,
      `virt${d}d.socket`,
      `virt${d}d-ro.socket`,
      `virt${d}d-admin.socket`,
    ]),
    'virtproxyd.service',
    'virtproxyd.socket',
    'virtproxyd-ro.socket',
    'virtproxyd-admin.socket',
    'virtproxyd-tcp.socket',
    'virtproxyd-tls.socket',
    'virtlogd.service',
    'virtlogd.socket',
    'virtlogd-admin.socket',
    'virtlockd.service',
    'virtlockd.socket',
    'virtlockd-admin.socket',
  ]
  t.deepEqual(rendered.map((u) => u.name).sort(), [...expected].sort())
  t.deepEqual(allUnitNames().sort(), [...expected].sort())
  for (const u of rendered) {
    t.notRegex(u.content, /@[A-Z_]+@/, `${u.name} has an unfilled placeholder`)
    t.true(u.content.split('\n')[0].includes(GENERATED_MARKER), u.name)
  }
})

test('sockets: libvirt paths, modes, Service= and FileDescriptorName= the daemon maps to roles', (t) => {
  const listen: Record<string, string> = {
    'libvirtd.socket': '/run/libvirt/libvirt-sock',
    'libvirtd-ro.socket': '/run/libvirt/libvirt-sock-ro',
    'libvirtd-admin.socket': '/run/libvirt/libvirt-admin-sock',
    'libvirtd-tcp.socket': '16509',
    'libvirtd-tls.socket': '16514',
    'virtproxyd.socket': '/run/libvirt/libvirt-sock',
    'virtproxyd-ro.socket': '/run/libvirt/libvirt-sock-ro',
    'virtproxyd-admin.socket': '/run/libvirt/libvirt-admin-sock',
    'virtproxyd-tcp.socket': '16509',
    'virtproxyd-tls.socket': '16514',
    'virtqemud.socket': '/run/libvirt/virtqemud-sock',
    'virtqemud-ro.socket': '/run/libvirt/virtqemud-sock-ro',
    'virtqemud-admin.socket': '/run/libvirt/virtqemud-admin-sock',
    'virtnwfilterd-ro.socket': '/run/libvirt/virtnwfilterd-sock-ro',
    'virtlogd.socket': '/run/libvirt/virtlogd-sock',
    'virtlogd-admin.socket': '/run/libvirt/virtlogd-admin-sock',
    'virtlockd.socket': '/run/libvirt/virtlockd-sock',
    'virtlockd-admin.socket': '/run/libvirt/virtlockd-admin-sock',
  }
  for (const [unit, addr] of Object.entries(listen)) t.deepEqual(get(unit, 'Socket', 'ListenStream'), [addr], unit)
  const role = (u: string) => /-(ro|admin|tcp|tls)\.socket$/.exec(u)?.[1] ?? 'rw'
  for (const u of rendered.filter((x) => x.name.endsWith('.socket'))) {
    const daemon = u.name.replace(/(-(ro|admin|tcp|tls))?\.socket$/, '')
    t.deepEqual(get(u.name, 'Socket', 'Service'), [`${daemon}.service`], u.name)
    t.deepEqual(get(u.name, 'Socket', 'FileDescriptorName'), [u.name], u.name)
    t.is<string, string>(roleForFdName(u.name), role(u.name), `the daemon reads ${u.name} as its ${role(u.name)} listener`)
    t.true(words(u.name, 'Unit', 'Before').includes(`${daemon}.service`), u.name)
    t.deepEqual(get(u.name, 'Install', 'WantedBy'), ['sockets.target'], u.name)
    const mode = get(u.name, 'Socket', 'SocketMode')[0]
    const expectedMode = /-(tcp|tls)\.socket$/.test(u.name)
      ? undefined
      : /^virtlo(g|ck)d/.test(u.name) || u.name.endsWith('-admin.socket')
        ? '0600'
        : u.name.endsWith('-ro.socket')
          ? '0666'
          : '0600'
    t.is<string | undefined, string | undefined>(mode, expectedMode, u.name)
    t.deepEqual(get(u.name, 'Socket', 'RemoveOnStop'), /-(tcp|tls)\.socket$/.test(u.name) ? [] : ['yes'], u.name)
    if (role(u.name) !== 'rw') {
      t.deepEqual(get(u.name, 'Unit', 'Requires'), [`${daemon}.socket`], u.name)
      t.deepEqual(get(u.name, 'Unit', 'After'), [`${daemon}.socket`], u.name)
    }
  }
  // libvirtd's and virtproxyd's sockets share paths and ports: each conflicts with its counterpart.
  for (const k of ['', '-ro', '-admin', '-tcp', '-tls']) {
    t.deepEqual(get(`libvirtd${k}.socket`, 'Unit', 'Conflicts'), [`virtproxyd${k}.socket`])
    t.deepEqual(get(`virtproxyd${k}.socket`, 'Unit', 'Conflicts'), [`libvirtd${k}.socket`])
  }
  t.deepEqual(get('virtqemud.socket', 'Unit', 'Conflicts'), [])
  // A socket group makes the read-write sockets group-writable, nothing else.
  const grouped = new Map(renderUnits({bin: BIN, socketGroup: 'libvirt'}).map((u) => [u.name, parseUnit(u.content)]))
  t.deepEqual(grouped.get('virtqemud.socket')!.Socket.SocketMode, ['0660'])
  t.deepEqual(grouped.get('virtqemud.socket')!.Socket.SocketGroup, ['libvirt'])
  t.deepEqual(grouped.get('virtqemud-admin.socket')!.Socket.SocketMode, ['0600'])
  t.false('SocketGroup' in grouped.get('virtqemud-admin.socket')!.Socket)
  t.false('SocketGroup' in grouped.get('virtlogd.socket')!.Socket)
  t.throws(() => renderUnits({bin: BIN, socketGroup: 'bad group'}), {message: /invalid socket group/})
})

test('services: notify, ExecStart with absolute paths and the sysconfig variable, KillMode, install relations', (t) => {
  for (const d of DAEMON_UNITS) {
    const svc = `${d.daemon}.service`
    t.deepEqual(get(svc, 'Service', 'Type'), ['notify'], svc)
    t.deepEqual(get(svc, 'Service', 'NotifyAccess'), ['all'], svc)
    t.deepEqual(get(svc, 'Service', 'Restart'), ['on-failure'], svc)
    t.deepEqual(get(svc, 'Service', 'EnvironmentFile'), [`-/etc/sysconfig/${d.daemon}`], svc)
    const driver = d.driver ? ` --driver ${d.driver}` : ''
    t.deepEqual(get(svc, 'Service', 'ExecStart'), [`${NODE} ${LEAN} daemon start --system${driver} $${d.daemon.toUpperCase()}_ARGS`], svc)
    t.deepEqual(get(svc, 'Service', 'KillMode'), d.daemon === 'libvirtd' || d.daemon === 'virtqemud' ? ['process'] : [], svc)
    t.is(words(svc, 'Unit', 'Wants')[0], `${d.daemon}.socket`, svc)
    t.false(words(svc, 'Unit', 'Requires').includes(`${d.daemon}.socket`), svc)
    t.deepEqual(get(svc, 'Install', 'WantedBy'), ['multi-user.target'], svc)
    const also = get(svc, 'Install', 'Also')
    t.deepEqual(
      also,
      d.sockets.filter((k) => k !== 'tcp' && k !== 'tls').map((k) => (k === 'main' ? `${d.daemon}.socket` : `${d.daemon}-${k}.socket`)),
      svc,
    )
  }
  t.deepEqual(get('virtqemud.service', 'Service', 'Environment'), ['"VIRTQEMUD_ARGS=--timeout 120"'])
  t.deepEqual(get('virtlogd.service', 'Service', 'Environment'), ['"VIRTLOGD_ARGS="'])
  t.true(words('virtqemud.service', 'Unit', 'Requires').includes('virtlogd.socket'))
  t.true(words('libvirtd.service', 'Unit', 'Wants').includes('virtlockd.socket'))
  t.deepEqual(words('libvirtd.service', 'Unit', 'Conflicts').sort(), [
    'virtinterfaced.service',
    'virtnetworkd.service',
    'virtnodedevd.service',
    'virtnwfilterd.service',
    'virtproxyd.service',
    'virtqemud.service',
    'virtsecretd.service',
    'virtstoraged.service',
  ])
  t.deepEqual(words('virtproxyd.service', 'Unit', 'Conflicts'), ['libvirtd.service'])
  // An installed vctl executable runs directly; paths needing quotes are quoted for systemd.
  const direct = parseUnit(renderUnits({bin: '/usr/local/bin/vctl'}).find((u) => u.name === 'virtqemud.service')!.content)
  t.deepEqual(direct.Service.ExecStart, ['/usr/local/bin/vctl daemon start --system --driver qemu $VIRTQEMUD_ARGS'])
  t.is(systemdQuote('/opt/my vctl/run.js'), '"/opt/my vctl/run.js"')
  t.is(systemdQuote('/opt/100%/$x'), '/opt/100%%/$$x')
  t.throws(() => renderUnits({bin: 'bin/run.js'}), {message: /absolute path/})
  t.throws(() => renderUnits({bin: BIN, node: 'node'}), {message: /absolute path/})
})

test("sysconfig files hold each daemon's argument variable", (t) => {
  const files = new Map(renderSysconfig().map((s) => [s.path, s.content]))
  t.regex(files.get('/etc/sysconfig/libvirtd')!, /^LIBVIRTD_ARGS="--timeout 120"$/m)
  t.regex(files.get('/etc/sysconfig/virtqemud')!, /^VIRTQEMUD_ARGS="--timeout 120"$/m)
  t.regex(files.get('/etc/sysconfig/virtproxyd')!, /^VIRTPROXYD_ARGS="--timeout 120"$/m)
  t.regex(files.get('/etc/sysconfig/virtlogd')!, /^VIRTLOGD_ARGS=""$/m)
  t.is(files.size, 11)
  t.is(fillTemplate('a\n@X@\nb @Y@ c\n@Z@', {X: ['1', '2'], Y: 'y', Z: ''}), 'a\n1\n2\nb y c')
  t.throws(() => fillTemplate('@NOPE@', {}), {message: /@NOPE@/})
})

/**
 * A unit search path with the host's units minus any libvirt/virt* unit (the host may have
 * libvirt's own packages installed, whose units would otherwise stand in for missing ones).
 */
function hostUnitsWithoutLibvirt(t: ExecutionContext): string {
  const dir = tmp(t, 'vctl-hostunits-')
  for (const base of ['/usr/lib/systemd/system', '/lib/systemd/system']) {
    if (!existsSync(base)) continue
    for (const n of readdirSync(base)) {
      if (/^(libvirt|virt)/.test(n) || existsSync(join(dir, n))) continue
      symlinkSync(join(base, n), join(dir, n))
    }
  }
  return dir
}

async function verify(files: string[], unitPath: string[]) {
  return run('systemd-analyze', ['verify', '--man=no', '--recursive-errors=yes', ...files], {
    env: {SYSTEMD_UNIT_PATH: unitPath.join(':'), SYSTEMD_LOG_COLOR: '0'},
  })
}

test('systemd-analyze verify accepts every installed unit, and catches broken ones', async (t) => {
  const root = tmp(t)
  const res = await installUnits({root, bin: BIN})
  t.is(res.units.length, 46)
  const dir = join(root, 'usr/lib/systemd/system')
  const host = hostUnitsWithoutLibvirt(t)
  const files = res.units.map((u) => u.path)
  const ok = await verify(files, [dir, host])
  t.is(ok.code, 0, ok.stderr)
  t.is(ok.stderr.trim(), '', 'systemd-analyze verify printed warnings')

  // The same check on a broken copy fails: a missing dependency, a bad value, a missing executable.
  const broken = tmp(t, 'vctl-broken-')
  for (const u of renderUnits({bin: BIN, node: '/nonexistent/node'})) {
    if (u.name === 'virtlogd.socket') continue
    writeFileSync(join(broken, u.name), u.name === 'libvirtd-ro.socket' ? u.content.replace('SocketMode=0666', 'SocketMode=rw-all') : u.content)
  }
  const bad = await verify(
    readdirSync(broken).map((n) => join(broken, n)),
    [broken, host],
  )
  t.not(bad.code, 0)
  t.regex(bad.stderr, /virtlogd\.socket not found/)
  t.regex(bad.stderr, /Failed to parse mode value/)
  t.regex(bad.stderr, /\/nonexistent\/node is not executable/)
})

test('units install: atomic unit files, sysconfig kept when present, foreign units refused, --admin', async (t) => {
  const root = tmp(t)
  mkdirSync(join(root, 'etc/sysconfig'), {recursive: true})
  writeFileSync(join(root, 'etc/sysconfig/virtqemud'), 'VIRTQEMUD_ARGS="--timeout 30 --verbose"\n')
  let r = await vctl(['units', 'install', '--root', root, '--json'])
  t.is(r.code, 0, r.stderr)
  const out = JSON.parse(r.stdout) as UnitsInstallResult
  t.is(out.unitDir, join(root, 'usr/lib/systemd/system'))
  t.is(out.units.length, 46)
  t.deepEqual(out.reload, {skipped: true, reason: 'installed under --root'})
  const sc = Object.fromEntries(out.sysconfig.map((s) => [basename(s.path), s.written]))
  t.false(sc.virtqemud)
  t.true(sc.libvirtd)
  t.is(readFileSync(join(root, 'etc/sysconfig/virtqemud'), 'utf8'), 'VIRTQEMUD_ARGS="--timeout 30 --verbose"\n')
  t.regex(readFileSync(join(root, 'usr/lib/systemd/system/virtqemud.service'), 'utf8'), new RegExp(`ExecStart=${NODE} ${LEAN} daemon start`))
  t.deepEqual(
    readdirSync(join(root, 'usr/lib/systemd/system')).filter((n) => n.endsWith('.tmp')),
    [],
  )

  // Reinstalling replaces the units (new bin) and still keeps the sysconfig files.
  writeFileSync(join(root, 'etc/sysconfig/libvirtd'), 'LIBVIRTD_ARGS=""\n')
  r = await vctl(['units', 'install', '--root', root, '--bin', '/opt/vctl/bin/vctl', '--json'])
  t.is(r.code, 0, r.stderr)
  t.regex(
    readFileSync(join(root, 'usr/lib/systemd/system/libvirtd.service'), 'utf8'),
    /^ExecStart=\/opt\/vctl\/bin\/vctl daemon start --system \$LIBVIRTD_ARGS$/m,
  )
  t.is(readFileSync(join(root, 'etc/sysconfig/libvirtd'), 'utf8'), 'LIBVIRTD_ARGS=""\n')
  t.true((JSON.parse(r.stdout) as UnitsInstallResult).sysconfig.every((s) => !s.written))

  // A unit file another package wrote is not replaced silently.
  writeFileSync(join(root, 'usr/lib/systemd/system/libvirtd.service'), '[Unit]\nDescription=libvirt\n')
  r = await vctl(['units', 'install', '--root', root])
  t.is(r.code, 1)
  t.regex(flat(r.stderr), /not written by vctl would be replaced: \S*\/libvirtd\.service/)
  r = await vctl(['units', 'install', '--root', root, '--force', '--json'])
  t.is(r.code, 0, r.stderr)
  t.true(readFileSync(join(root, 'usr/lib/systemd/system/libvirtd.service'), 'utf8').includes(GENERATED_MARKER))

  // --admin writes into /etc/systemd/system; the vendor copies are then shadowed, not the reverse.
  r = await vctl(['units', 'install', '--root', root, '--admin', '--json'])
  t.is(r.code, 0, r.stderr)
  t.true(existsSync(join(root, 'etc/systemd/system/virtqemud.socket')))
  r = await vctl(['units', 'install', '--root', root, '--json'])
  t.is((JSON.parse(r.stdout) as UnitsInstallResult).shadowedBy.length, 46)
  r = await vctl(['units', 'install', '--root', root, '--bin', 'relative/vctl'])
  t.is(r.code, 1)
  t.regex(flat(r.stderr), /absolute path/)
})

test('units list --json: installed or not, enabled/disabled/masked/static', async (t) => {
  const root = tmp(t)
  let r = await vctl(['units', 'list', '--root', root, '--json'])
  t.is(r.code, 0, r.stderr)
  let list = JSON.parse(r.stdout) as UnitListEntry[]
  t.is(list.length, 46)
  t.deepEqual(
    list.map((u) => [u.unit, u.state, u.installed, u.path]),
    list.map((u) => [u.unit, 'not-found', false, null]),
  )
  await installUnits({root, bin: BIN})
  const sc = new Systemctl({root})
  await sc.enable(['virtqemud.service'])
  await sc.mask(['libvirtd.socket'])
  // A unit with no [Install] section is static.
  writeFileSync(
    join(root, 'usr/lib/systemd/system/virtlockd-admin.socket'),
    `# ${GENERATED_MARKER}\n[Socket]\nListenStream=/run/libvirt/virtlockd-admin-sock\nService=virtlockd.service\n`,
  )
  r = await vctl(['units', 'list', '--root', root, '--json'])
  t.is(r.code, 0, r.stderr)
  list = JSON.parse(r.stdout) as UnitListEntry[]
  const state = Object.fromEntries(list.map((u) => [u.unit, u.state]))
  t.is(state['virtqemud.service'], 'enabled')
  t.is(state['virtqemud.socket'], 'enabled') // through Also=
  t.is(state['virtqemud-admin.socket'], 'enabled')
  t.is(state['virtnetworkd.socket'], 'disabled')
  t.is(state['libvirtd.socket'], 'masked')
  t.is(state['virtlockd-admin.socket'], 'static')
  const q = list.find((u) => u.unit === 'virtqemud.service')
  t.deepEqual(q, {
    unit: 'virtqemud.service',
    daemon: 'virtqemud',
    installed: true,
    path: join(root, 'usr/lib/systemd/system/virtqemud.service'),
    state: 'enabled',
  })
  t.is(list.find((u) => u.unit === 'libvirtd.socket')?.path, join(root, 'etc/systemd/system/libvirtd.socket'))
  r = await vctl(['units', 'list', '--root', root])
  t.is(r.code, 0)
  t.regex(r.stdout, /virtqemud-ro\.socket.*enabled/)
})

test('systemctl wrapper: --root for offline verbs, online verbs skipped with the reason, clear errors', async (t) => {
  const root = tmp(t)
  await installUnits({root, bin: BIN})
  const sc = new Systemctl({root})
  t.deepEqual(sc.argv('enable', ['a.socket']), ['systemctl', `--root=${root}`, 'enable', 'a.socket'])
  t.is(await sc.isEnabled('virtsecretd.socket'), 'disabled')
  t.is(await sc.isEnabled('nope.socket'), 'not-found')
  const start = await sc.start(['virtsecretd.socket'])
  t.true(start.skipped)
  if (start.skipped) t.regex(start.reason, /--root=.* only edits unit files/)
  const active = await sc.isActive('virtsecretd.socket')
  t.true(active.skipped)
  const err = await t.throwsAsync(sc.enable(['nope.service']), {instanceOf: SystemctlError})
  t.regex(err.message, /systemctl --root=.* enable nope\.service failed \(exit 1\): .*nope\.service does not exist/)
  // No root and no running systemd (as in this container): start/stop are skipped too.
  const host = new Systemctl({systemdRunning: false})
  const stop = await host.stop(['libvirtd.socket'])
  t.true(stop.skipped)
  if (stop.skipped) t.regex(stop.reason, /systemd is not running as the init system/)
  const missing = new Systemctl({root, command: '/nonexistent/systemctl'})
  await t.throwsAsync(missing.isEnabled('x.socket'), {message: /cannot run \/nonexistent\/systemctl: not found/})
})

test("systemd-socket-activate with the socket units' own paths and names: the daemon serves rw and ro", async (t) => {
  // Takes ListenStream=, FileDescriptorName= and the ExecStart arguments from the installed units,
  // relocated under a temporary root, and lets systemd's activation helper start the daemon.
  const root = tmp(t)
  const res = await installUnits({root, bin: BIN})
  const unit = (n: string) => parseUnit(readFileSync(join(root, 'usr/lib/systemd/system', n), 'utf8'))
  const socks = ['libvirtd.socket', 'libvirtd-ro.socket', 'libvirtd-admin.socket'].map((n) => ({
    path: join(root, unit(n).Socket.ListenStream[0]),
    name: unit(n).Socket.FileDescriptorName[0],
  }))
  t.is(res.sysconfig.find((s) => s.daemon === 'libvirtd')!.written, true)
  const sysArgs = /^LIBVIRTD_ARGS="(.*)"$/m.exec(readFileSync(join(root, 'etc/sysconfig/libvirtd'), 'utf8'))![1].split(' ')
  t.deepEqual(sysArgs, ['--timeout', '120'])
  const exec = unit('libvirtd.service').Service.ExecStart[0].split(' ')
  t.deepEqual(exec.slice(0, 4), [NODE, LEAN, 'daemon', 'start'])
  const argv = [...exec.slice(1).filter((a) => !a.startsWith('$')), '--root', root, '--timeout', '3']
  mkdirSync(join(root, 'run/libvirt'), {recursive: true})
  const child = spawn(
    'systemd-socket-activate',
    [...socks.flatMap((s) => ['-l', s.path]), `--fdname=${socks.map((s) => s.name).join(':')}`, '--', exec[0], ...argv],
    {stdio: ['ignore', 'ignore', 'pipe']},
  )
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  const exited = new Promise<number | null>((r) => child.once('exit', r))
  let held: Socket | undefined
  try {
    await waitFor('the activation sockets', () => socks.every((s) => existsSync(s.path)))
    // A connection held open starts the daemon and keeps it from going idle (--timeout 3) between
    // the virsh runs below, however slowly they start on a loaded machine.
    held = await connectUnix(socks[0].path)
    const rw = `test+unix:///default?socket=${socks[0].path}`
    const ro = `test+unix:///default?socket=${socks[1].path}`
    let r = await virsh(rw, ['list', '--all'])
    t.is(r.code, 0, r.stderr + stderr)
    r = await virsh(ro, ['suspend', 'test'], {readonly: true})
    t.is(r.code, 1, 'the -ro.socket name made the daemon treat it as read-only')
    t.regex(r.stderr, /read only access prevents/)
    held.destroy()
    t.is(await exited, 0, stderr)
  } finally {
    held?.destroy()
    child.kill()
  }
})

test("the verify unit path holds the host's standard units but none of its libvirt units", (t) => {
  const dir = hostUnitsWithoutLibvirt(t)
  t.false(readdirSync(dir).some((n) => /^(libvirt|virt)/.test(n)))
  for (const n of ['multi-user.target', 'sockets.target', 'network.target', 'sysinit.target']) t.true(existsSync(join(dir, n)), n)
})
