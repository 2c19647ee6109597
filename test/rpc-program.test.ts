// The procedure tables: numbered in order, unique, and each write procedure names its API family.
import test from 'ava'
import {remote, remoteFamilies} from '../src/lib/rpc/programs/remote.js'
import {admin} from '../src/lib/rpc/programs/admin.js'
import {ErrorDomain} from '../src/lib/errors.js'
import type {AnyProgram} from '../src/lib/rpc/program.js'

test('procedure tables are in procedure-number order', (t) => {
  const tables: Array<[string, Record<string, {num: number}>]> = [...Object.entries(remoteFamilies), [admin.name, admin.procs]]
  for (const [name, procs] of tables) {
    const nums = Object.values(procs).map((d) => d.num)
    t.deepEqual(
      nums,
      [...nums].sort((a, b) => a - b),
      name,
    )
  }
  const programs: AnyProgram[] = [remote, admin]
  for (const program of programs) {
    const events = Object.values(program.events).map((d) => d.num)
    t.deepEqual(
      events,
      [...events].sort((a, b) => a - b),
      `${program.name} events`,
    )
  }
})

test('every REMOTE procedure carries the error domain of its API family', (t) => {
  // The first rule whose pattern the procedure's name matches names its family.
  const rules: Array<[RegExp, number]> = [
    [/SNAPSHOT/, 35], // VIR_FROM_DOMAIN_SNAPSHOT, as real libvirtd 9.0 reports a read-only snapshot call
    [/^INTERFACE_|_INTERFACES$/, ErrorDomain.INTERFACE],
    [/SECRET/, ErrorDomain.SECRET],
    [/NWFILTER/, ErrorDomain.NWFILTER],
    [/NODE_DEVICE|NODE_NUM_OF_DEVICES|NODE_LIST_DEVICES/, ErrorDomain.NODEDEV],
    [/STORAGE_/, ErrorDomain.STORAGE],
    [/NETWORK/, ErrorDomain.NETWORK],
  ]
  const family = (name: string) => rules.find(([re]) => re.test(name))?.[1] ?? ErrorDomain.DOMAIN
  for (const def of remote.byNum.values()) t.is(def.errDomain, family(def.name), def.name)
})
