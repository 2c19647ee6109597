/**
 * cockpit-machines' stack in a test: a private system bus, libvirt-dbus on it (in the system
 * namespace, so its qemu:///system is vctl), and cockpit-ws with a local cockpit-bridge session on a
 * free loopback port, also in the namespace. cockpit-machines is served at its frame URL
 * (`/cockpit/@localhost/machines/index.html`): Debian's cockpit shell (cockpit-system) is not
 * installed, and the shell's `/machines` is that frame inside the shell's navigation.
 */
import type {ChildProcess} from 'node:child_process'
import {closeSync, mkdirSync, openSync, readFileSync} from 'node:fs'
import {request} from 'node:http'
import {join} from 'node:path'
import {freePort, run, waitFor} from '../helpers/daemon.js'
import {stopChild, type SystemNamespace} from '../helpers/system-ns.js'
import {startBus, systemBusConfig, type Bus} from './dbus.js'

export interface Cockpit {
  /** The machines page, e.g. http://127.0.0.1:PORT/cockpit/@localhost/machines/index.html */
  url: string
  env: NodeJS.ProcessEnv
  logs: {libvirtDbus: string; ws: string}
  stop: () => Promise<void>
}

function httpStatus(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(url, (res) => {
      res.resume()
      resolve(res.statusCode ?? 0)
    })
    req.on('error', () => resolve(0))
    req.setTimeout(5000, () => req.destroy())
    req.end()
  })
}

function spawnLogged(ns: SystemNamespace, log: string, cmd: string, args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  const fd = openSync(log, 'a')
  const child = ns.spawn(cmd, args, {env, stdio: ['ignore', fd, fd]})
  closeSync(fd)
  return child
}

export function tail(file: string, chars = 1500): string {
  try {
    return readFileSync(file, 'utf8').slice(-chars)
  } catch {
    return ''
  }
}

export async function startCockpit(ns: SystemNamespace): Promise<Cockpit> {
  const dir = join(ns.root, 'cockpit')
  const home = join(dir, 'home')
  const runtime = join(dir, 'xdg-runtime')
  mkdirSync(home, {recursive: true})
  mkdirSync(runtime, {recursive: true, mode: 0o700})
  const base: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: home,
    XDG_RUNTIME_DIR: runtime,
    // cockpit-bridge runs python3 helpers that need Debian's python (gi); a pyenv shim may come first otherwise.
    PATH: `/usr/sbin:/usr/bin:/sbin:/bin:${process.env.PATH ?? ''}`,
    LANG: 'C.UTF-8',
  }
  delete base.DBUS_SESSION_BUS_ADDRESS
  delete base.DBUS_SYSTEM_BUS_ADDRESS
  const buses: Bus[] = []
  const children: ChildProcess[] = []
  const stop = async () => {
    for (const c of children.reverse()) await stopChild(c)
    for (const b of buses.reverse()) await b.stop()
  }
  const logs = {libvirtDbus: join(dir, 'libvirt-dbus.log'), ws: join(dir, 'cockpit-ws.log')}
  try {
    const system = await startBus(base, systemBusConfig(dir))
    buses.push(system)
    const session = await startBus(base)
    buses.push(session)
    const env = {...base, DBUS_SYSTEM_BUS_ADDRESS: system.address, DBUS_SESSION_BUS_ADDRESS: session.address}

    children.push(spawnLogged(ns, logs.libvirtDbus, '/usr/sbin/libvirt-dbus', ['--system'], env))
    await waitFor(
      'libvirt-dbus on the private system bus',
      async () => {
        const r = await run(
          'gdbus',
          ['call', '--system', '--dest', 'org.libvirt', '--object-path', '/org/libvirt/QEMU', '--method', 'org.libvirt.Connect.ListDomains', '0'],
          {
            env,
            timeout: 10000,
          },
        )
        return r.code === 0
      },
      60000,
    )

    const port = await freePort()
    children.push(
      spawnLogged(
        ns,
        logs.ws,
        '/usr/lib/cockpit/cockpit-ws',
        ['--no-tls', '--local-session=/usr/bin/cockpit-bridge', '-p', String(port), '-a', '127.0.0.1'],
        env,
      ),
    )
    const url = `http://127.0.0.1:${port}/cockpit/@localhost/machines/index.html`
    await waitFor('cockpit-ws to serve the machines page', async () => (await httpStatus(url)) === 200, 60000)
    return {url, env, logs, stop}
  } catch (err) {
    await stop()
    throw new Error(`${String(err)}\nlibvirt-dbus: ${tail(logs.libvirtDbus)}\ncockpit-ws: ${tail(logs.ws)}`, {cause: err})
  }
}
