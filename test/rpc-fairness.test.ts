// Fairness: a client streaming calls back to back (which the daemon busy-polls) must not cost
// another client its latency. libvirtd answers the second client in ~2 ms meanwhile (vctl too, on a
// quiet machine); the bounds below are five times that target, so that they hold on a loaded
// machine, and still far below what the busy-poll loop that never yielded cost (ten times the target
// and more).
import test from 'ava'
import {join} from 'node:path'
import {ROOT_DIR, run, startDaemon} from './helpers/daemon.js'

interface Fairness {
  fair_median_ms: number
  fair_p99_ms: number
  fair_max_ms: number
  fair_calls: number
  fair_streamer_rate: number
}

const DUR_S = 2
const MEDIAN_MS = 50
const P99_MS = 250

test("a streaming client leaves another client's calls a median under 50 ms, p99 under 250 ms", async (t) => {
  const d = await startDaemon()
  try {
    // The machine is shared: a round that misses may be the scheduler's doing, so up to three
    // rounds; the busy-poll loop that never yielded missed every one by tenfold.
    const rounds: Fairness[] = []
    for (let i = 0; i < 3; i++) {
      const r = await run('/usr/bin/python3', [join(ROOT_DIR, 'bench/client.py'), d.uri('test'), String(DUR_S), 'fair'])
      t.is(r.code, 0, r.stderr)
      const f = JSON.parse(r.stdout) as Fairness
      rounds.push(f)
      t.log(
        `median ${f.fair_median_ms.toFixed(2)} ms, p99 ${f.fair_p99_ms.toFixed(2)} ms, max ${f.fair_max_ms.toFixed(1)} ms over ${f.fair_calls} calls; streamer ${f.fair_streamer_rate.toFixed(0)} calls/s`,
      )
      if (f.fair_median_ms < MEDIAN_MS && f.fair_p99_ms < P99_MS) break
    }
    t.true(rounds.length > 0 && rounds.at(-1)!.fair_calls > 50, 'enough calls measured')
    t.true(
      rounds.some((f) => f.fair_median_ms < MEDIAN_MS && f.fair_p99_ms < P99_MS),
      'no round met the targets',
    )
    // The streamer is still served: it never waits between calls, the other client sleeps 10 ms after
    // each, so in a fair daemon the streamer gets far more calls through (a ratio that does not depend
    // on the machine's speed; its rate in calls/s does: ~3,000 quiet, a few hundred under load).
    t.true(
      rounds.every((f) => f.fair_streamer_rate * DUR_S > 2 * f.fair_calls),
      `the streaming client is still served: ${rounds.map((f) => `${f.fair_streamer_rate.toFixed(0)} calls/s vs ${f.fair_calls} calls`).join('; ')}`,
    )
  } finally {
    await d.stop()
  }
})
