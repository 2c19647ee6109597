// Waits that do not depend on a quiet machine: for a value to settle, for a log to grow.
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * Waits until `get` gives the same value (and `ok` holds for it) at every poll for `quietMs`, and
 * returns that value; throws naming `what` after `timeoutMs`. For "a paused source produces no more":
 * the quiet period must be seen, so a slow machine only makes it arrive later.
 */
export async function waitStable<T>(what: string, get: () => T, quietMs = 500, timeoutMs = 30000, ok: (v: T) => boolean = () => true): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last = get()
  let since = Date.now()
  for (;;) {
    await sleep(50)
    const v = get()
    if (v !== last || !ok(v)) {
      last = v
      since = Date.now()
    } else if (Date.now() - since >= quietMs) {
      return v
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} to settle (last: ${String(last)})`)
  }
}

/** Waits until `count()` reaches `n`; returns the count. Errors from `count` (a file being rotated) are retried. */
export async function waitCount(what: string, count: () => number, n: number, timeoutMs = 60000): Promise<number> {
  const deadline = Date.now() + timeoutMs
  let last = 0
  for (;;) {
    try {
      last = count()
    } catch {
      // read again at the next poll
    }
    if (last >= n) return last
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}: ${last} of ${n}`)
    await sleep(50)
  }
}
