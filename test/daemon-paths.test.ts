import test from 'ava'

import {DAEMON_NAMES, daemonNameForDriver, daemonPaths, defaultMode, driverStateDirs, type DaemonName} from '../src/lib/daemon/paths.js'

const R = '/tmp/vctl-root'
const HOME_ENV = {HOME: '/home/u'}

test('daemonNameForDriver maps drivers to daemons', (t) => {
  t.is(daemonNameForDriver(), 'libvirtd')
  t.is(daemonNameForDriver(undefined), 'libvirtd')
  t.is(daemonNameForDriver('qemu'), 'virtqemud')
  t.is(daemonNameForDriver('proxy'), 'virtproxyd')
  t.is(daemonNameForDriver('log'), 'virtlogd')
  t.is(daemonNameForDriver('lock'), 'virtlockd')
  t.is(daemonNameForDriver('network'), 'virtnetworkd')
  t.is(daemonNameForDriver('storage'), 'virtstoraged')
  t.is(daemonNameForDriver('secret'), 'virtsecretd')
  t.is(daemonNameForDriver('nodedev'), 'virtnodedevd')
  t.is(daemonNameForDriver('nwfilter'), 'virtnwfilterd')
  t.is(daemonNameForDriver('interface'), 'virtinterfaced')
  t.is(daemonNameForDriver('virtqemud'), 'virtqemud')
})

test('daemonNameForDriver rejects unknown drivers, listing the valid ones', (t) => {
  for (const bad of ['xen', 'qemux', '', 'QEMU', 'toString', '__proto__']) {
    const err = t.throws(() => daemonNameForDriver(bad), {instanceOf: Error})
    t.true(err.message.includes(`'${bad}'`))
    t.true(err.message.includes('qemu, network, storage'))
    t.true(err.message.includes('proxy, log, lock'))
  }
})

test('system mode with --root: libvirtd', (t) => {
  const p = daemonPaths({daemon: 'libvirtd', mode: 'system', root: R, env: {}})
  t.deepEqual(p, {
    mode: 'system',
    root: R,
    configFile: `${R}/etc/libvirt/libvirtd.conf`,
    configDir: `${R}/etc/libvirt`,
    runDir: `${R}/run/libvirt`,
    sockDir: `${R}/run/libvirt`,
    sockRw: `${R}/run/libvirt/libvirt-sock`,
    sockRo: `${R}/run/libvirt/libvirt-sock-ro`,
    sockAdmin: `${R}/run/libvirt/libvirt-admin-sock`,
    pidFile: `${R}/run/libvirtd.pid`,
    stateDir: `${R}/var/lib/libvirt`,
    logDir: `${R}/var/log/libvirt`,
    cacheDir: `${R}/var/cache/libvirt`,
  })
})

test('system mode without root uses the real paths (computed only)', (t) => {
  const p = daemonPaths({daemon: 'virtqemud', mode: 'system'})
  t.is(p.root, '')
  t.is(p.configFile, '/etc/libvirt/virtqemud.conf')
  t.is(p.sockRw, '/run/libvirt/virtqemud-sock')
  t.is(p.pidFile, '/run/virtqemud.pid')
  t.is(p.stateDir, '/var/lib/libvirt')
})

test('system mode: modular daemon socket names', (t) => {
  const modular: DaemonName[] = ['virtqemud', 'virtnetworkd', 'virtstoraged', 'virtsecretd', 'virtnodedevd', 'virtnwfilterd', 'virtinterfaced']
  for (const daemon of modular) {
    const p = daemonPaths({daemon, mode: 'system', root: R})
    t.is(p.configFile, `${R}/etc/libvirt/${daemon}.conf`)
    t.is(p.sockRw, `${R}/run/libvirt/${daemon}-sock`)
    t.is(p.sockRo, `${R}/run/libvirt/${daemon}-sock-ro`)
    t.is(p.sockAdmin, `${R}/run/libvirt/${daemon}-admin-sock`)
    t.is(p.pidFile, `${R}/run/${daemon}.pid`)
  }
})

test('system mode: virtproxyd serves the libvirt-* sockets', (t) => {
  const p = daemonPaths({daemon: 'virtproxyd', mode: 'system', root: R})
  const l = daemonPaths({daemon: 'libvirtd', mode: 'system', root: R})
  t.is(p.sockRw, `${R}/run/libvirt/libvirt-sock`)
  t.is(p.sockRo, `${R}/run/libvirt/libvirt-sock-ro`)
  t.is(p.sockAdmin, `${R}/run/libvirt/libvirt-admin-sock`)
  t.is(p.sockRw, l.sockRw)
  t.is(p.configFile, `${R}/etc/libvirt/virtproxyd.conf`)
  t.is(p.pidFile, `${R}/run/virtproxyd.pid`)
})

test('system mode: virtlogd and virtlockd have no read-only socket', (t) => {
  for (const daemon of ['virtlogd', 'virtlockd'] as const) {
    const p = daemonPaths({daemon, mode: 'system', root: R})
    t.is(p.sockRw, `${R}/run/libvirt/${daemon}-sock`)
    t.is(p.sockAdmin, `${R}/run/libvirt/${daemon}-admin-sock`)
    t.is(p.sockRo, undefined)
    t.is(p.pidFile, `${R}/run/${daemon}.pid`)
  }
})

test('unix_sock_dir overrides only the socket directory, under root', (t) => {
  const p = daemonPaths({daemon: 'virtqemud', mode: 'system', root: R, unixSockDir: '/srv/socks'})
  t.is(p.sockDir, `${R}/srv/socks`)
  t.is(p.sockRw, `${R}/srv/socks/virtqemud-sock`)
  t.is(p.sockRo, `${R}/srv/socks/virtqemud-sock-ro`)
  t.is(p.sockAdmin, `${R}/srv/socks/virtqemud-admin-sock`)
  t.is(p.runDir, `${R}/run/libvirt`)
  t.is(p.pidFile, `${R}/run/virtqemud.pid`)

  const noRoot = daemonPaths({daemon: 'libvirtd', mode: 'system', unixSockDir: '/srv/socks'})
  t.is(noRoot.sockRw, '/srv/socks/libvirt-sock')

  const s = daemonPaths({daemon: 'libvirtd', mode: 'session', env: HOME_ENV, unixSockDir: '/srv/s'})
  t.is(s.sockRw, '/srv/s/libvirt-sock')
  t.is(s.sockRo, undefined)
})

test('session mode with XDG variables', (t) => {
  const env = {HOME: '/home/u', XDG_CONFIG_HOME: '/x/config', XDG_CACHE_HOME: '/x/cache', XDG_RUNTIME_DIR: '/run/user/1000'}
  const p = daemonPaths({daemon: 'virtqemud', mode: 'session', env})
  t.deepEqual(p, {
    mode: 'session',
    root: '',
    configFile: '/x/config/libvirt/virtqemud.conf',
    configDir: '/x/config/libvirt',
    runDir: '/run/user/1000/libvirt',
    sockDir: '/run/user/1000/libvirt',
    sockRw: '/run/user/1000/libvirt/virtqemud-sock',
    sockRo: undefined,
    sockAdmin: '/run/user/1000/libvirt/virtqemud-admin-sock',
    pidFile: '/run/user/1000/libvirt/virtqemud.pid',
    stateDir: '/x/config/libvirt',
    logDir: '/x/cache/libvirt/log',
    cacheDir: '/x/cache/libvirt',
  })
  const l = daemonPaths({daemon: 'libvirtd', mode: 'session', env})
  t.is(l.sockRw, '/run/user/1000/libvirt/libvirt-sock')
  t.is(l.sockAdmin, '/run/user/1000/libvirt/libvirt-admin-sock')
  t.is(l.sockRo, undefined)
})

test('session mode without XDG variables falls back to $HOME', (t) => {
  const p = daemonPaths({daemon: 'libvirtd', mode: 'session', env: HOME_ENV})
  t.is(p.configFile, '/home/u/.config/libvirt/libvirtd.conf')
  t.is(p.configDir, '/home/u/.config/libvirt')
  t.is(p.runDir, '/home/u/.cache/libvirt')
  t.is(p.sockRw, '/home/u/.cache/libvirt/libvirt-sock')
  t.is(p.sockAdmin, '/home/u/.cache/libvirt/libvirt-admin-sock')
  t.is(p.sockRo, undefined)
  t.is(p.pidFile, '/home/u/.cache/libvirt/libvirtd.pid')
  t.is(p.stateDir, '/home/u/.config/libvirt')
  t.is(p.cacheDir, '/home/u/.cache/libvirt')
  t.is(p.logDir, '/home/u/.cache/libvirt/log')
})

test('session mode ignores empty and relative XDG variables', (t) => {
  const p = daemonPaths({
    daemon: 'libvirtd',
    mode: 'session',
    env: {HOME: '/home/u', XDG_CONFIG_HOME: '', XDG_CACHE_HOME: 'relative/cache', XDG_RUNTIME_DIR: ''},
  })
  t.is(p.configDir, '/home/u/.config/libvirt')
  t.is(p.cacheDir, '/home/u/.cache/libvirt')
  t.is(p.runDir, '/home/u/.cache/libvirt')
})

test('session mode: XDG_CACHE_HOME is the runtime fallback when XDG_RUNTIME_DIR is unset', (t) => {
  const p = daemonPaths({daemon: 'virtlogd', mode: 'session', env: {HOME: '/home/u', XDG_CACHE_HOME: '/c'}})
  t.is(p.runDir, '/c/libvirt')
  t.is(p.sockRw, '/c/libvirt/virtlogd-sock')
  t.is(p.sockRo, undefined)
})

test('session mode with root prefixes everything', (t) => {
  const env = {HOME: '/home/u', XDG_RUNTIME_DIR: '/run/user/1000'}
  const p = daemonPaths({daemon: 'virtqemud', mode: 'session', root: R, env})
  t.is(p.configFile, `${R}/home/u/.config/libvirt/virtqemud.conf`)
  t.is(p.sockRw, `${R}/run/user/1000/libvirt/virtqemud-sock`)
  t.is(p.pidFile, `${R}/run/user/1000/libvirt/virtqemud.pid`)
  t.is(p.stateDir, `${R}/home/u/.config/libvirt`)
  t.is(p.logDir, `${R}/home/u/.cache/libvirt/log`)
  for (const [k, v] of Object.entries(p)) {
    if (typeof v === 'string' && k !== 'mode' && k !== 'root') t.true(v.startsWith(`${R}/`), `${k}=${v}`)
  }
})

test('every daemon in system mode keeps all paths under root', (t) => {
  for (const daemon of DAEMON_NAMES) {
    const p = daemonPaths({daemon, mode: 'system', root: R})
    for (const [k, v] of Object.entries(p)) {
      if (typeof v === 'string' && k !== 'mode' && k !== 'root') t.true(v.startsWith(`${R}/`), `${daemon} ${k}=${v}`)
    }
  }
})

test('driverStateDirs: system', (t) => {
  const p = daemonPaths({daemon: 'virtqemud', mode: 'system', root: R})
  t.deepEqual(driverStateDirs(p, 'qemu'), {
    configDir: `${R}/etc/libvirt/qemu`,
    autostartDir: `${R}/etc/libvirt/qemu/autostart`,
    runDir: `${R}/run/libvirt/qemu`,
    stateDir: `${R}/var/lib/libvirt/qemu`,
    logDir: `${R}/var/log/libvirt/qemu`,
  })
  // unix_sock_dir does not move driver run dirs.
  const moved = daemonPaths({daemon: 'virtnetworkd', mode: 'system', root: R, unixSockDir: '/s'})
  t.is(driverStateDirs(moved, 'network').runDir, `${R}/run/libvirt/network`)
})

test('driverStateDirs: session keeps state apart from definitions', (t) => {
  const env = {HOME: '/home/u', XDG_RUNTIME_DIR: '/run/user/1000'}
  const p = daemonPaths({daemon: 'virtqemud', mode: 'session', env})
  const d = driverStateDirs(p, 'qemu')
  t.deepEqual(d, {
    configDir: '/home/u/.config/libvirt/qemu',
    autostartDir: '/home/u/.config/libvirt/qemu/autostart',
    runDir: '/run/user/1000/libvirt/qemu/run',
    stateDir: '/home/u/.config/libvirt/qemu/lib',
    logDir: '/home/u/.cache/libvirt/qemu/log',
  })
  t.not(d.stateDir, d.configDir)
})

test('driverStateDirs rejects path-like driver names', (t) => {
  const p = daemonPaths({daemon: 'libvirtd', mode: 'system', root: R})
  t.throws(() => driverStateDirs(p, '../etc'))
  t.throws(() => driverStateDirs(p, 'a/b'))
  t.throws(() => driverStateDirs(p, ''))
})

test('defaultMode follows the uid', (t) => {
  const expected = process.getuid?.() === 0 ? 'system' : 'session'
  t.is(defaultMode(), expected)
})
