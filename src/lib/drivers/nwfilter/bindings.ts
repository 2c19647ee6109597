/**
 * Filter bindings: a filter instantiated on a tap (libvirt's virNWFilterBinding). Each is kept as
 * `PORTDEV.xml` in the run directory (written atomically, as libvirt keeps /run/libvirt/nwfilter-binding)
 * and applied with nftables while its tap exists. The variables are the binding's parameters plus
 * MAC (the binding's MAC address) and IP when the filter needs it and none is given: learned from
 * the DHCP lease the network driver sees (CTRL_IP_LEARNING any or dhcp; none refuses), and until
 * then the rules that need it are left out, so the guest can still ask for its lease.
 */
import {existsSync, mkdirSync, readdirSync, readFileSync, rmSync} from 'node:fs'
import {join} from 'node:path'

import {ErrorCode, VirError} from '../../errors.js'
import {writeFileAtomic} from '../../fs-atomic.js'
import {
  NWFILTER_DOMAIN,
  formatBindingXml,
  parseBindingXml,
  type FilterParams,
  type NwFilterBindingDef,
  type NwFilterDef,
} from '../../conf/nwfilter.js'
import type {LogSink} from '../types.js'
import type {NwFilterBindingRef} from '../nwfilter-types.js'
import {Firewall} from './firewall.js'
import {instantiate, unresolvable} from './instantiate.js'

const NW = NWFILTER_DOMAIN

/** Finds the IPv4 address a guest NIC leased (undefined while it has none). */
export type IpLearner = (mac: string) => Promise<string | undefined>

interface Binding {
  def: NwFilterBindingDef
  learned?: string
  timer?: NodeJS.Timeout
}

export function noBinding(portdev: string): VirError {
  const detail = `no nwfilter binding for port dev '${portdev}'`
  return new VirError(ErrorCode.NO_NWFILTER_BINDING, NW, `Network filter binding not found: ${detail}`, {
    str1: 'Network filter binding not found: %s',
    str2: detail,
  })
}

const tapExists = (dev: string) => /^[A-Za-z0-9_.+-]{1,15}$/.test(dev) && existsSync(`/sys/class/net/${dev}`)

export class BindingSet {
  private readonly bindings = new Map<string, Binding>()
  private readonly firewall = new Firewall()
  /** Firewall changes one at a time (creates, deletes, rebuilds and learned addresses). */
  private queue: Promise<unknown> = Promise.resolve()

  constructor(
    private readonly dir: string,
    private readonly lookup: (name: string) => NwFilterDef | undefined,
    private readonly log: Pick<LogSink, 'warn'>,
    private readonly learnIp?: IpLearner,
    private readonly learnIntervalMs = 500,
  ) {
    mkdirSync(dir, {recursive: true, mode: 0o700})
  }

  /** Reads the bindings of a previous run and applies them again (their taps still exist). */
  async load(): Promise<void> {
    const defs: NwFilterBindingDef[] = []
    for (const f of readdirSync(this.dir).filter((x) => x.endsWith('.xml'))) {
      try {
        defs.push(parseBindingXml(readFileSync(join(this.dir, f), 'utf8')))
      } catch (err) {
        this.log.warn(`nwfilter: skipping binding file ${f}: ${String(err)}`)
      }
    }
    if (!defs.length) return
    await this.firewall.adopt(defs.map((d) => d.portdev))
    for (const def of defs) {
      if (!tapExists(def.portdev)) {
        await this.firewall.remove(def.portdev)
        rmSync(join(this.dir, `${def.portdev}.xml`), {force: true})
        continue
      }
      const b: Binding = {def}
      this.bindings.set(def.portdev, b)
      await this.apply(b).catch((err: unknown) => this.log.warn(`nwfilter: re-applying the binding of ${def.portdev}: ${String(err)}`))
    }
  }

  list(): NwFilterBindingRef[] {
    return [...this.bindings.values()].map((b) => ({portdev: b.def.portdev, filtername: b.def.filter}))
  }

  get(portdev: string): NwFilterBindingDef {
    const b = this.bindings.get(portdev)
    if (!b) throw noBinding(portdev)
    return b.def
  }

  /** Whether a binding uses filter `name`, directly or through references. */
  uses(name: string): boolean {
    const seen = new Set<string>()
    const walk = (n: string): boolean => {
      if (n === name) return true
      if (seen.has(n)) return false
      seen.add(n)
      return (this.lookup(n)?.entries ?? []).some((e) => e.include && walk(e.include.filter))
    }
    return [...this.bindings.values()].some((b) => walk(b.def.filter))
  }

  private lock<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn)
    this.queue = run.catch(() => undefined)
    return run
  }

  create(def: NwFilterBindingDef): Promise<void> {
    return this.lock(() => this.createNow(def))
  }

  private async createNow(def: NwFilterBindingDef): Promise<void> {
    if (this.bindings.has(def.portdev)) {
      throw new VirError(ErrorCode.OPERATION_FAILED, NW, `operation failed: filter binding for port dev '${def.portdev}' already exists`)
    }
    const b: Binding = {def}
    if (tapExists(def.portdev)) await this.apply(b)
    await writeFileAtomic(join(this.dir, `${def.portdev}.xml`), formatBindingXml(def), 0o600)
    this.bindings.set(def.portdev, b)
  }

  delete(portdev: string): Promise<void> {
    return this.lock(() => this.deleteNow(portdev))
  }

  private async deleteNow(portdev: string): Promise<void> {
    const b = this.bindings.get(portdev)
    if (!b) throw noBinding(portdev)
    if (b.timer) clearInterval(b.timer)
    await this.firewall.remove(portdev)
    rmSync(join(this.dir, `${portdev}.xml`), {force: true})
    this.bindings.delete(portdev)
  }

  /** Re-applies every binding (after a filter it uses was redefined). */
  rebuild(): Promise<void> {
    return this.lock(() => this.rebuildNow())
  }

  private async rebuildNow(): Promise<void> {
    for (const b of this.bindings.values()) {
      if (tapExists(b.def.portdev))
        await this.apply(b).catch((err: unknown) => this.log.warn(`nwfilter: rebuilding ${b.def.portdev}: ${String(err)}`))
    }
  }

  stop(): void {
    for (const b of this.bindings.values()) if (b.timer) clearInterval(b.timer)
  }

  private vars(b: Binding): FilterParams {
    const vars: FilterParams = {...b.def.params}
    vars.MAC ??= [b.def.mac]
    if (b.learned && !vars.IP?.length) vars.IP = [b.learned]
    return vars
  }

  private async apply(b: Binding): Promise<void> {
    const vars = this.vars(b)
    const learning = (vars.CTRL_IP_LEARNING?.[0] ?? 'any').toLowerCase()
    const deferred = !vars.IP?.length && learning !== 'none' ? ['IP'] : []
    const inst = instantiate(this.lookup, b.def.filter, vars, deferred)
    if (inst.missing.length) throw unresolvable(inst.missing)
    await this.firewall.apply(b.def.portdev, inst.rules)
    const needsIp = deferred.length > 0 && instantiate(this.lookup, b.def.filter, {...vars, IP: ['0.0.0.0']}).rules.length > inst.rules.length
    if (needsIp && !b.timer) this.startLearning(b)
  }

  private startLearning(b: Binding): void {
    const learn = this.learnIp
    if (!learn) return
    let busy = false
    b.timer = setInterval(() => {
      if (busy) return
      busy = true
      learn(b.def.mac)
        .then((ip) =>
          this.lock(async () => {
            if (!ip || this.bindings.get(b.def.portdev) !== b) return
            if (b.timer) clearInterval(b.timer)
            b.timer = undefined
            b.learned = ip
            await this.apply(b)
          }),
        )
        .catch((err: unknown) => this.log.warn(`nwfilter: learning the IP address of ${b.def.portdev}: ${String(err)}`))
        .finally(() => (busy = false))
    }, this.learnIntervalMs)
    b.timer.unref()
  }
}
