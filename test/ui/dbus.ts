/** Private D-Bus buses for the GUI tests: a session bus, or a system bus of our own config; PIDs tracked. */
import {spawn, type ChildProcess} from 'node:child_process'
import {readFileSync, readdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {waitExit} from '../helpers/daemon.js'
import {stopChild} from '../helpers/system-ns.js'

export interface Bus {
  address: string
  pid: number
  /** Stops what the bus activated (deepest first, while the bus can reap it), then the bus. */
  stop: () => Promise<void>
}

/** Resolves with the first line a stream gives (without its newline); rejects on timeout or exit. */
export function firstLine(child: ChildProcess, stream: NodeJS.ReadableStream, what: string, ms: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = ''
    const timer = setTimeout(() => done(new Error(`${what}: nothing after ${ms} ms`)), ms)
    const onExit = (code: number | null) => done(new Error(`${what} exited (${code}) before it was ready`))
    const onData = (d: Buffer) => {
      buf += d.toString()
      const i = buf.indexOf('\n')
      if (i >= 0) done(undefined, buf.slice(0, i).trim())
    }
    function done(err?: Error, line?: string) {
      clearTimeout(timer)
      stream.removeListener('data', onData)
      child.removeListener('exit', onExit)
      if (err) reject(err)
      else resolve(line ?? '')
    }
    child.once('exit', onExit)
    stream.on('data', onData)
  })
}

/** The PIDs of `pid`'s descendants, parents before their children. */
export function descendants(pid: number): number[] {
  const parent = new Map<number, number>()
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8')
      // pid (comm) state ppid ...: comm may hold spaces and parentheses, so read after the last ')'.
      parent.set(Number(e), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]))
    } catch {
      // exited meanwhile
    }
  }
  const out: number[] = []
  const walk = (p: number) => {
    for (const [c, pp] of parent) {
      if (pp !== p) continue
      out.push(c)
      walk(c)
    }
  }
  walk(pid)
  return out
}

/**
 * A system bus for the tests: listens on DIR/system_bus_socket and lets anyone own any name and
 * call anything (the real one's policy would want the libvirtdbus user and the libvirt group).
 */
export function systemBusConfig(dir: string): string {
  const file = join(dir, 'system-bus.conf')
  writeFileSync(
    file,
    `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=${join(dir, 'system_bus_socket')}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
  </policy>
</busconfig>
`,
  )
  return file
}

/** Starts `dbus-daemon --session` (or with `configFile`) in the foreground and returns its address. */
export async function startBus(env: NodeJS.ProcessEnv, configFile?: string): Promise<Bus> {
  const args = [configFile ? `--config-file=${configFile}` : '--session', '--nofork', '--nopidfile', '--print-address=1']
  const bus = spawn('dbus-daemon', args, {stdio: ['ignore', 'pipe', 'ignore'], env})
  try {
    if (!bus.stdout || bus.pid === undefined) throw new Error('dbus-daemon did not start')
    const address = await firstLine(bus, bus.stdout, 'dbus-daemon', 30000)
    const pid = bus.pid
    return {
      address,
      pid,
      stop: async () => {
        for (const p of descendants(pid).reverse()) {
          try {
            process.kill(p, 'SIGTERM')
          } catch {
            // gone already
          }
          await waitExit(p, 5000)
        }
        await stopChild(bus)
      },
    }
  } catch (err) {
    await stopChild(bus)
    throw err
  }
}
