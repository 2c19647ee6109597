// cockpit-machines 288 through libvirt-dbus against vctl as qemu:///system (a private mount namespace
// with the daemon's sockets over /run/libvirt, a private system bus), in headless Chromium.
import test from 'ava'
import {join} from 'node:path'
import puppeteer, {type Browser, type Page} from 'puppeteer-core'
import {waitFor} from './helpers/daemon.js'
import {startSystemNamespace, type SystemNamespace} from './helpers/system-ns.js'
import {startCockpit, tail, type Cockpit} from './ui/cockpit.js'
import {shotPath} from './ui/shots.js'
import {SERIAL_PTY, VNC, defineGuest, startGuest, virshOk} from './ui/guests.js'

let ns: SystemNamespace
let ck: Cockpit
let browser: Browser

test.before(async () => {
  ns = await startSystemNamespace('vctl-ck-')
  await defineGuest(ns, 'ck-off', {devices: SERIAL_PTY})
  await defineGuest(ns, 'ck-run', {devices: `${SERIAL_PTY}\n${VNC}`})
  await startGuest(ns, 'ck-run')
  // No display: its page shows the serial console (the test guest has a shell on ttyS0).
  // quiet: kernel messages printed while the shell echoes a typed command would split its line.
  await defineGuest(ns, 'ck-ser', {devices: SERIAL_PTY, cmdline: 'console=ttyS0 quiet panic=-1 cryptomgr.notests'})
  ck = await startCockpit(ns)
  browser = await puppeteer.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    userDataDir: join(ns.root, 'chromium'),
  })
})

test.after.always(async () => {
  await browser?.close()
  await ck?.stop()
  await ns?.stop()
})

/**
 * Opens the machines page (at `hash`) in a new tab. This host has no KVM, so cockpit-machines first
 * says "Hardware virtualization is disabled" (as it does against libvirtd here); that is dismissed.
 */
async function openMachines(hash = ''): Promise<{page: Page; warnings: string[]}> {
  const page = await browser.newPage()
  await page.setViewport({width: 1280, height: 1000})
  const warnings: string[] = []
  page.on('console', (m) => {
    if (m.type() === 'warn' || m.type() === 'error') warnings.push(m.text())
  })
  await page.goto(`${ck.url}${hash}`, {waitUntil: 'load'})
  const first = await page.waitForSelector('#ignore-hw-virtualization-disabled-btn, #virtual-machines-listing, [id$="-consoles"]', {timeout: 60000})
  if (first && (await first.evaluate((e) => e.id)) === 'ignore-hw-virtualization-disabled-btn') await first.click()
  return {page, warnings}
}

/** The VM list as cockpit shows it: name -> state text. */
function listed(page: Page): Promise<Record<string, string>> {
  return page.evaluate(() => {
    const out: Record<string, string> = {}
    for (const row of document.querySelectorAll('tr[data-row-id^="vm-"]')) {
      const id = row.getAttribute('data-row-id') ?? ''
      const name = row.querySelector(`[id="${id}-name"]`)?.textContent ?? ''
      out[name] = row.querySelector(`[id="${id}-state"]`)?.textContent ?? ''
    }
    return out
  })
}

async function waitListed(page: Page, want: Record<string, string>, warnings: string[], ms = 60000): Promise<Record<string, string>> {
  let last: Record<string, string> = {}
  try {
    await waitFor(
      `the VM list ${JSON.stringify(want)}`,
      async () => {
        last = await listed(page)
        return JSON.stringify(last) === JSON.stringify(want)
      },
      ms,
    )
  } catch (err) {
    throw new Error(`${String(err)}: last ${JSON.stringify(last)}\nwarnings: ${warnings.join('\n')}\ncockpit-ws: ${tail(ck.logs.ws)}`, {cause: err})
  }
  return last
}

test.serial('the Virtual machines page lists the guests with their states, and Run starts one', async (t) => {
  const {page, warnings} = await openMachines()
  try {
    t.deepEqual(await waitListed(page, {'ck-off': 'Shut off', 'ck-run': 'Running', 'ck-ser': 'Shut off'}, warnings), {
      'ck-off': 'Shut off',
      'ck-run': 'Running',
      'ck-ser': 'Shut off',
    })
    await page.click('#vm-ck-off-system-run')
    await waitListed(page, {'ck-off': 'Running', 'ck-run': 'Running', 'ck-ser': 'Shut off'}, warnings)
    t.is(await virshOk(ns, ['domstate', 'ck-off']), 'running')
    // A change made by another client shows through libvirt-dbus's events.
    await virshOk(ns, ['destroy', 'ck-off'])
    await waitListed(page, {'ck-off': 'Shut off', 'ck-run': 'Running', 'ck-ser': 'Shut off'}, warnings)
    const png = shotPath('cockpit-list.png')
    await page.screenshot({path: png})
    t.log(`screenshot: ${png}`)
    const failed = warnings.filter((w) => / failed/.test(w))
    if (failed.length > 0) t.log(`cockpit-machines: ${failed.length} failed fetches (see the no-failed-fetch test)`)
    // Every procedure cockpit-machines calls has an answer: nothing is an "unknown procedure" (issue #13).
    t.deepEqual(
      warnings.filter((w) => /unknown procedure/i.test(w)),
      [],
    )
  } finally {
    await page.close()
  }
})

test.serial("a VM's page opens with its VNC console showing the guest's display", async (t) => {
  const {page, warnings} = await openMachines('#vm?name=ck-run&connection=system')
  try {
    await page.waitForSelector('#vm-ck-run-consoles .pf-c-console__vnc canvas', {timeout: 60000})
    // noVNC paints the framebuffer on its canvas; a blank one has a single colour.
    let figures = {width: 0, height: 0, colours: 0, otherShare: 0}
    await waitFor(
      'a non-blank VNC canvas',
      async () => {
        figures = await page.evaluate(() => {
          const c = document.querySelector<HTMLCanvasElement>('#vm-ck-run-consoles .pf-c-console__vnc canvas')
          const ctx = c?.getContext('2d')
          if (!c || !ctx || c.width === 0 || c.height === 0) return {width: 0, height: 0, colours: 0, otherShare: 0}
          const d = ctx.getImageData(0, 0, c.width, c.height).data
          const counts = new Map<number, number>()
          for (let i = 0; i < d.length; i += 4) {
            const k = (d[i] << 16) | (d[i + 1] << 8) | d[i + 2]
            counts.set(k, (counts.get(k) ?? 0) + 1)
          }
          let top = 0
          for (const n of counts.values()) if (n > top) top = n
          const total = c.width * c.height
          return {width: c.width, height: c.height, colours: counts.size, otherShare: (total - top) / total}
        })
        return figures.colours >= 2 && figures.otherShare >= 0.002
      },
      45000,
    ).catch((err: unknown) => t.fail(`${String(err)}: ${JSON.stringify(figures)}\nwarnings: ${warnings.join('\n')}`))
    // The guest's framebuffer size (VGA text mode 720x400 or a graphics mode), not an empty canvas.
    t.true(figures.width >= 320 && figures.height >= 200, JSON.stringify(figures))
    const png = shotPath('cockpit-vm-console.png')
    await page.screenshot({path: png})
    t.log(`screenshot: ${png}`)
  } finally {
    await page.close()
  }
})

test.serial("a VM's page shows what it shows against libvirtd: the CPU model, no failed fetches", async (t) => {
  const {page, warnings} = await openMachines('#vm?name=ck-run&connection=system')
  try {
    await page.waitForSelector('#vm-ck-run-consoles .pf-c-console__vnc canvas', {timeout: 60000})
    // libvirt writes the CPU model QEMU runs a TCG guest with (qemu64) into the definition.
    const cpu = await page.waitForSelector('#vm-ck-run-cpu-model', {timeout: 30000})
    t.is(await cpu?.evaluate((e) => (e as HTMLElement).innerText.split('\n')[0].trim()), 'custom (qemu64)')
    // Nothing the page asked for failed (libvirtd answers the interface addresses of a guest with none).
    await new Promise((r) => setTimeout(r, 2000))
    const alerts = await page.evaluate(() => [...document.querySelectorAll('.pf-c-alert.pf-m-danger')].map((e) => e.textContent ?? ''))
    t.deepEqual(alerts, [], warnings.join('\n'))
  } finally {
    await page.close()
  }
})

test.serial('the Virtual machines page shows no failed fetch, as against libvirtd', async (t) => {
  const {page, warnings} = await openMachines()
  try {
    await waitListed(page, {'ck-off': 'Shut off', 'ck-run': 'Running', 'ck-ser': 'Shut off'}, warnings)
    // The page fetches pools, networks, host interfaces and devices, and every VM's snapshots once.
    await new Promise((r) => setTimeout(r, 3000))
    const alerts = await page.evaluate(() => [...document.querySelectorAll('.pf-c-alert.pf-m-danger')].map((e) => e.textContent ?? ''))
    t.deepEqual(alerts, [], warnings.filter((w) => / failed/.test(w)).join('\n'))
  } finally {
    await page.close()
  }
})

test.serial("a VM's serial console (virsh console through cockpit-bridge) answers a command typed into the guest's shell", async (t) => {
  await startGuest(ns, 'ck-ser')
  const {page, warnings} = await openMachines('#vm?name=ck-ser&connection=system')
  try {
    const term = '#ck-ser-terminal'
    await page.waitForSelector(`${term} .xterm-helper-textarea`, {timeout: 60000})
    const text = () => page.$eval(`${term} .xterm-accessibility-tree`, (e) => (e as HTMLElement).innerText).catch(() => '')
    // The guest may still be booting: the line is typed again until the shell has answered it. A
    // line typed while the guest still prints its boot lines may have them in the middle of its
    // echo, so the wait is for one answered line whose echo is whole (the assertion below).
    const answered = /echo vctl-\$\(\(6\*7\)\)\s*\n\s*vctl-42/
    let last = ''
    await waitFor(
      "the guest shell's answer in the terminal",
      async () => {
        last = await text()
        if (answered.test(last)) return true
        if (/\ndisconnected\s*\n/.test(last)) throw new Error('the console disconnected')
        await page.type(`${term} .xterm-helper-textarea`, 'echo vctl-$((6*7))\n')
        await new Promise((r) => setTimeout(r, 1000))
        return false
      },
      60000,
    ).catch((err: unknown) => t.fail(`${String(err)}\nterminal:\n${JSON.stringify(last)}\nwarnings: ${warnings.join('\n')}`))
    // The terminal's accessible text is its screen: the answer, on its own line after the command.
    t.regex(last, answered)
    const png = shotPath('cockpit-serial-console.png')
    await page.screenshot({path: png})
    t.log(`screenshot: ${png}`)
  } finally {
    await page.close()
    await ns.virsh(['destroy', 'ck-ser'])
  }
})
