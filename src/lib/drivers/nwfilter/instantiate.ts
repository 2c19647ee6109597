/**
 * Instantiating a binding (libvirt's nwfilter "gentech" step): walk the filter and the filters it
 * references, merging each `<filterref>`'s parameters over its parent's variables, and turn every
 * rule into concrete rules with the variables' values in place (a list value yields one rule per
 * element; `$X[@N]` iterators of one N step together, plain `$X`s combine independently).
 */
import {ErrorCode, VirError} from '../../errors.js'
import {NWFILTER_DOMAIN, type FilterParams, type NwFilterDef, type NwRule, type RuleAttr} from '../../conf/nwfilter.js'
import {resolveAttr} from '../../conf/nwfilter-rule.js'

const NW = NWFILTER_DOMAIN

/** A rule with every variable replaced, in the chain of the filter it came from. */
export interface ConcreteRule {
  chain: string
  chainPriority: number
  rule: NwRule
}

export interface Instantiation {
  rules: ConcreteRule[]
  /** Variables some rule needs that have no value (after the learnable IP was set aside). */
  missing: string[]
}

interface Collected {
  chain: string
  chainPriority: number
  rule: NwRule
  vars: FilterParams
}

export function missingFilter(name: string): VirError {
  return new VirError(ErrorCode.INTERNAL_ERROR, NW, `internal error: referenced filter '${name}' is missing`, {
    str1: 'internal error: %s',
    str2: `referenced filter '${name}' is missing`,
  })
}

function collect(lookup: (name: string) => NwFilterDef | undefined, name: string, vars: FilterParams, out: Collected[], depth: number): void {
  const def = lookup(name)
  if (!def) throw missingFilter(name)
  if (depth > 64) throw new VirError(ErrorCode.INTERNAL_ERROR, NW, 'internal error: filter references are nested too deeply')
  for (const e of def.entries) {
    if (e.rule) out.push({chain: def.chain, chainPriority: def.chainPriority, rule: e.rule, vars})
    else collect(lookup, e.include.filter, {...vars, ...e.include.params}, out, depth + 1)
  }
}

/** Every combination of values for the rule's variables, or undefined when one has no value. */
function combinations(attrs: RuleAttr[], vars: FilterParams): Array<Record<string, string>> | undefined {
  // groups of accesses that step together: one group per plain variable, one per iterator id
  const groups = new Map<string, RuleAttr[]>()
  for (const a of attrs) {
    const v = a.variable
    if (!v) continue
    if (!vars[v.name]?.length) return undefined
    if (v.index !== undefined && v.index >= vars[v.name].length) return undefined
    const key = v.index !== undefined ? `=${v.name}` : v.iterator ? `@${v.iterator}` : `$${v.name}`
    groups.set(key, [...(groups.get(key) ?? []), a])
  }
  let combos: Array<Record<string, string>> = [{}]
  for (const [key, members] of groups) {
    const len = key.startsWith('=') ? 1 : Math.min(...members.map((m) => vars[m.variable?.name ?? ''].length))
    const next: Array<Record<string, string>> = []
    for (const c of combos) {
      for (let i = 0; i < len; i++) {
        const add: Record<string, string> = {}
        for (const m of members) {
          const v = m.variable
          if (!v) continue
          add[m.name] = vars[v.name][v.index ?? i]
        }
        next.push({...c, ...add})
      }
    }
    combos = next
  }
  return combos
}

/**
 * The concrete rules of filter `top` with parameters `params`. Rules that use a variable in
 * `deferred` (the IP address while it is being learned) are left out, and missing variables are
 * reported rather than thrown, so the caller can word the error.
 */
export function instantiate(
  lookup: (name: string) => NwFilterDef | undefined,
  top: string,
  params: FilterParams,
  deferred: string[] = [],
): Instantiation {
  const collected: Collected[] = []
  collect(lookup, top, params, collected, 0)
  const rules: ConcreteRule[] = []
  const missing = new Set<string>()
  for (const c of collected) {
    const used = c.rule.attrs.flatMap((a) => (a.variable ? [a.variable.name] : []))
    if (used.some((n) => deferred.includes(n) && !c.vars[n]?.length)) continue
    const combos = combinations(c.rule.attrs, c.vars)
    if (!combos) {
      for (const a of c.rule.attrs) {
        const v = a.variable
        if (v && (!c.vars[v.name]?.length || (v.index !== undefined && v.index >= c.vars[v.name].length))) missing.add(v.name)
      }
      continue
    }
    const proto = c.rule.protocol ?? ''
    for (const combo of combos) {
      const attrs = c.rule.attrs.map((a) => (a.variable ? resolveAttr(proto, a, combo[a.name]) : a))
      rules.push({chain: c.chain, chainPriority: c.chainPriority, rule: {...c.rule, attrs}})
    }
  }
  return {rules, missing: [...missing].sort()}
}

export function unresolvable(names: string[]): VirError {
  const detail = `Cannot instantiate filter due to unresolvable variables or unavailable list elements: ${names.join(', ')}`
  return new VirError(ErrorCode.INTERNAL_ERROR, NW, `internal error: ${detail}`, {str1: 'internal error: %s', str2: detail})
}
