// Fairness: a client streaming calls back to back (which the daemon busy-polls) must not cost
// another client its latency. libvirtd answers the second client in ~2 ms meanwhile.
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

test("a streaming client leaves another client's calls a median under 10 ms, p99 under 50 ms", async (t) => {
  const d = await startDaemon()
  try {
    // The machine is shared: a round that misses may be the scheduler's doing, so up to three
    // rounds; the busy-poll loop that never yielded missed every one by tenfold.
    const rounds: Fairness[] = []
    for (let i = 0; i < 3; i++) {
      const r = await run('/usr/bin/python3', [join(ROOT_DIR, 'bench/client.py'), d.uri('test'), '2', 'fair'])
      t.is(r.code, 0, r.stderr)
      const f = JSON.parse(r.stdout) as Fairness
      rounds.push(f)
      t.log(
        `median ${f.fair_median_ms.toFixed(2)} ms, p99 ${f.fair_p99_ms.toFixed(2)} ms, max ${f.fair_max_ms.toFixed(1)} ms over ${f.fair_calls} calls; streamer ${f.fair_streamer_rate.toFixed(0)} calls/s`,
      )
      if (f.fair_median_ms < 10 && f.fair_p99_ms < 50) break
    }
    t.true(rounds.length > 0 && rounds.at(-1)!.fair_calls > 50, 'enough calls measured')
    t.true(
      rounds.some((f) => f.fair_median_ms < 10 && f.fair_p99_ms < 50),
      'no round met the targets',
    )
    t.true(
      rounds.every((f) => f.fair_streamer_rate > 1000),
      'the streaming client is still served',
    )
  } finally {
    await d.stop()
  }
})
