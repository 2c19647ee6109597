/**
 * libvirt's CPU sets (virBitmap as text): "0-3,^2,8" parses to [0, 1, 3, 8]; lists format back to
 * ranges ("0-1,3,8"). Errors as libvirt's bitmap parser reports them.
 */
import {errors} from '../errors.js'

/** Parses a cpuset string; throws libvirt's "Failed to parse bitmap" error when it is not one. */
export function parseCpuset(text: string, errDomain: number): number[] {
  const bad = () => errors.invalidArg(errDomain, `Failed to parse bitmap '${text}'`)
  const set = new Set<number>()
  const neg = new Set<number>()
  const parts = text.split(',').map((p) => p.trim())
  if (parts.length === 0 || text.trim() === '') throw bad()
  for (const p of parts) {
    if (p === '') throw bad()
    if (p.startsWith('^')) {
      const n = /^\^(\d+)$/.exec(p)
      if (!n) throw bad()
      neg.add(Number(n[1]))
      continue
    }
    const m = /^(\d+)(?:-(\d+))?$/.exec(p)
    if (!m) throw bad()
    const a = Number(m[1])
    const b = m[2] === undefined ? a : Number(m[2])
    if (b < a || b > 65535) throw bad()
    for (let i = a; i <= b; i++) set.add(i)
  }
  for (const n of neg) set.delete(n)
  return [...set].sort((x, y) => x - y)
}

/** Formats sorted or unsorted CPU numbers as libvirt does: ranges joined by commas. */
export function formatCpuset(cpus: readonly number[]): string {
  const s = [...new Set(cpus)].sort((a, b) => a - b)
  const out: string[] = []
  for (let i = 0; i < s.length;) {
    let j = i
    while (j + 1 < s.length && s[j + 1] === s[j] + 1) j++
    out.push(i === j ? String(s[i]) : `${s[i]}-${s[j]}`)
    i = j + 1
  }
  return out.join(',')
}

/** All CPUs 0..n-1. */
export function allCpus(n: number): number[] {
  return Array.from({length: n}, (_, i) => i)
}
