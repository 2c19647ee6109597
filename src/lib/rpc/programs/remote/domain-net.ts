/** The REMOTE procedures of guest interfaces (domifstat, domifaddr), in procedure-number order. */
import * as t from '../../codec.js'
import {proc} from '../../program.js'
import {domainHandle, s} from './types.js'

const IFACE_MAX = 2048
const ADDR_MAX = 2048

/** remote_domain_interface. */
const domainInterface = t.struct({
  name: s,
  hwaddr: t.optString,
  addrs: t.array(t.struct({type: t.int, addr: s, prefix: t.uint}), ADDR_MAX),
})

export const domainNetProcs = {
  DOMAIN_INTERFACE_STATS: proc(
    65,
    t.struct({dom: domainHandle, device: s}),
    t.struct({
      rx_bytes: t.hyper,
      rx_packets: t.hyper,
      rx_errs: t.hyper,
      rx_drop: t.hyper,
      tx_bytes: t.hyper,
      tx_packets: t.hyper,
      tx_errs: t.hyper,
      tx_drop: t.hyper,
    }),
    {ro: true},
  ),
  DOMAIN_INTERFACE_ADDRESSES: proc(
    353,
    t.struct({dom: domainHandle, source: t.uint, flags: t.uint}),
    t.struct({ifaces: t.array(domainInterface, IFACE_MAX)}),
    {ro: true},
  ),
}
