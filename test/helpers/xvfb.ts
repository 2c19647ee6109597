/**
 * A private graphical session for the GUI tests: Xvfb on a display it picks itself (`-displayfd`,
 * so concurrent tests never collide), a private D-Bus session bus (AT-SPI's bus is activated on
 * it, which is what dogtail reads), and a fresh HOME/XDG_RUNTIME_DIR with gsettings in memory.
 * Both PIDs are tracked and stopped by `stop()`; screenshots are taken with ImageMagick's `import`.
 */
import {spawn} from 'node:child_process'
import {mkdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {run} from './daemon.js'
import {stopChild} from './system-ns.js'
import {firstLine, startBus, type Bus} from '../ui/dbus.js'

export interface Desktop {
  /** `:N` */
  display: string
  xvfbPid: number
  busPid: number
  /** The environment a GUI program or a dogtail script of this session needs. */
  env: NodeJS.ProcessEnv
  /** Saves the whole screen, or the region `crop` of it, as PNG (`.png`) or binary PPM (`.ppm`). */
  screenshot: (file: string, crop?: Rect) => Promise<void>
  stop: () => Promise<void>
}

export interface Rect {
  x: number
  y: number
  width: number
  height: number
}

/** Starts Xvfb and a session bus; `dir` gets the session's HOME and runtime dir. */
export async function startDesktop(dir: string, size = '1280x1024'): Promise<Desktop> {
  const home = join(dir, 'home')
  const runtime = join(dir, 'xdg-runtime')
  mkdirSync(home, {recursive: true})
  mkdirSync(runtime, {recursive: true, mode: 0o700})

  const xvfb = spawn('Xvfb', ['-displayfd', '3', '-screen', '0', `${size}x24`, '-nolisten', 'tcp', '-noreset'], {
    stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
  })
  let bus: Bus | undefined
  try {
    const fd3 = xvfb.stdio[3]
    if (!fd3 || !('on' in fd3)) throw new Error('Xvfb: no display pipe')
    const display = `:${await firstLine(xvfb, fd3 as NodeJS.ReadableStream, 'Xvfb', 60000)}`
    const base: NodeJS.ProcessEnv = {...process.env, DISPLAY: display, HOME: home, XDG_RUNTIME_DIR: runtime, XDG_CONFIG_HOME: join(home, '.config')}
    delete base.NO_AT_BRIDGE
    delete base.DBUS_SESSION_BUS_ADDRESS
    bus = await startBus(base)
    const env: NodeJS.ProcessEnv = {
      ...base,
      DBUS_SESSION_BUS_ADDRESS: bus.address,
      GSETTINGS_BACKEND: 'memory',
      // Debian's python, with dogtail and gi (a pyenv shim may come first on PATH otherwise).
      PATH: `/usr/sbin:/usr/bin:/sbin:/bin:${process.env.PATH ?? ''}`,
      LC_ALL: 'C.UTF-8',
      LANG: 'C.UTF-8',
    }
    const xvfbPid = xvfb.pid!
    const sessionBus = bus
    return {
      display,
      xvfbPid,
      busPid: bus.pid,
      env,
      screenshot: async (file, crop) => {
        const args = ['-display', display, '-window', 'root', '-depth', '8']
        if (crop) args.push('-crop', `${crop.width}x${crop.height}+${crop.x}+${crop.y}`, '+repage')
        const r = await run('import', [...args, file.endsWith('.ppm') ? `ppm:${file}` : file], {env})
        if (r.code !== 0) throw new Error(`import: ${r.stderr}`)
      },
      stop: async () => {
        await sessionBus.stop()
        await stopChild(xvfb)
      },
    }
  } catch (err) {
    await bus?.stop()
    await stopChild(xvfb)
    throw err
  }
}

/** The pixels of a binary PPM (P6, maxval 255) file. */
export interface Pixmap {
  width: number
  height: number
  /** RGB, 3 bytes a pixel, row by row. */
  data: Buffer
}

export function readPpm(file: string): Pixmap {
  const buf = readFileSync(file)
  // Header: P6 <ws> width <ws> height <ws> maxval <one ws> data; no comments from import.
  const m = /^P6\s+(\d+)\s+(\d+)\s+(\d+)\s/.exec(buf.subarray(0, 64).toString('latin1'))
  if (!m) throw new Error(`${file}: not a binary PPM`)
  const [, w, h, max] = m
  if (Number(max) !== 255) throw new Error(`${file}: maxval ${max}`)
  const width = Number(w)
  const height = Number(h)
  return {width, height, data: buf.subarray(m[0].length, m[0].length + width * height * 3)}
}

/**
 * How far an image is from a blank (single-colour) one: the share of pixels that differ from its
 * most common colour, and how many colours it has.
 */
export function nonBlank(p: Pixmap): {colours: number; otherShare: number} {
  const counts = new Map<number, number>()
  for (let i = 0; i + 2 < p.data.length; i += 3) {
    const c = (p.data[i] << 16) | (p.data[i + 1] << 8) | p.data[i + 2]
    counts.set(c, (counts.get(c) ?? 0) + 1)
  }
  const total = p.width * p.height
  let top = 0
  for (const n of counts.values()) if (n > top) top = n
  return {colours: counts.size, otherShare: total === 0 ? 0 : (total - top) / total}
}
