// Every frame in the captured virsh <-> libvirtd exchanges whose procedure vctl implements must
// decode with our procedure table and re-encode to the very same bytes.
import test from 'ava'
import {readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {remote} from '../src/lib/rpc/programs/remote.js'
import {admin} from '../src/lib/rpc/programs/admin.js'
import {errorStruct} from '../src/lib/rpc/message.js'
import {XdrReader, XdrWriter} from '../src/lib/rpc/xdr.js'
import type {Codec} from '../src/lib/rpc/codec.js'
import type {AnyProgram} from '../src/lib/rpc/program.js'

const DIR = join(import.meta.dirname, '../../shared/protocol-captures')

interface Frame {
  dir: string
  prog: string
  proc: number
  type: number
  status: number
  payload_hex: string
  payload_len: number
}

const PROGRAMS = new Map<string, AnyProgram>([
  ['0x20008086', remote],
  ['0x6900690', admin],
])

function roundTrip(codec: Codec<unknown>, hex: string): string {
  const buf = Buffer.from(hex, 'hex')
  const r = new XdrReader(buf)
  const v = codec.dec(r)
  r.done()
  const w = new XdrWriter()
  codec.enc(w, v)
  return w.result().toString('hex')
}

const files = readdirSync(DIR).filter((f) => f.endsWith('.jsonl'))

test('captures exist', (t) => {
  t.true(files.length > 20)
})

for (const f of files) {
  test(`capture ${f} round-trips`, (t) => {
    let checked = 0
    for (const line of readFileSync(join(DIR, f), 'utf8').split('\n')) {
      if (!line.trim()) continue
      const fr = JSON.parse(line) as Frame
      const program = PROGRAMS.get(fr.prog)
      // Skip other programs and payloads the capture tool truncated.
      if (!program || fr.payload_hex === undefined || fr.payload_hex.length !== fr.payload_len * 2) continue
      if (fr.type === 2) {
        const ev = program.eventsByNum.get(fr.proc)
        if (!ev) continue
        t.is(roundTrip(ev.body, fr.payload_hex), fr.payload_hex, `${f}: event ${ev.name}`)
        checked++
        continue
      }
      const def = program.byNum.get(fr.proc)
      if (!def) continue
      let codec: Codec<unknown>
      if (fr.type === 0) codec = def.args
      else if (fr.type === 1 && fr.status === 0) codec = def.ret
      else if (fr.type === 1 && fr.status === 1) codec = errorStruct
      else continue
      t.is(roundTrip(codec, fr.payload_hex), fr.payload_hex, `${f}: ${def.name} type ${fr.type} status ${fr.status}`)
      checked++
    }
    t.true(checked > 0, `no frame of ${f} was checked`)
  })
}
