/** Waiting on a domain's state change, with listr2 progress for people. */
import {remote, type DomainHandle} from '../rpc/programs/remote.js'
import type {Connection} from './connection.js'
import {ErrorCode, ErrorDomain, VirError} from '../errors.js'
import {DomainState} from './flags.js'

/** How often the domain's state is asked while waiting. */
const POLL_MS = 100
const MS_PER_SECOND = 1000

export async function waitForShutoff(
  conn: Connection,
  dom: DomainHandle,
  request: () => Promise<unknown>,
  timeoutMs: number,
  quiet: boolean,
): Promise<void> {
  const {Listr} = await import('listr2')
  const poll = async () => {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const s = await conn.call(remote.procs.DOMAIN_GET_STATE, {dom, flags: 0})
      if (s.state === DomainState.SHUTOFF) return
      if (Date.now() > deadline) {
        throw new VirError(
          ErrorCode.OPERATION_TIMEOUT,
          ErrorDomain.DOMAIN,
          `operation timed out: domain '${dom.name}' still running after ${timeoutMs / MS_PER_SECOND}s`,
        )
      }
      await new Promise((r) => setTimeout(r, POLL_MS))
    }
  }
  await new Listr(
    [
      {
        title: `Ask '${dom.name}' to shut down`,
        task: async () => {
          await request()
        },
      },
      {title: `Wait until '${dom.name}' is shut off`, task: poll},
    ],
    {renderer: quiet ? 'silent' : 'default', fallbackRenderer: 'simple', exitOnError: true},
  ).run()
}
