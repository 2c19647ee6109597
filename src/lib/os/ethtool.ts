/**
 * A network interface's offload features, read with the SIOCETHTOOL ioctl as libvirt's
 * virNetDevGetFeatures does (the `<feature name='...'/>` list of a net node device). ioctl and
 * socket are called through koffi, loaded on first use. Linux x86-64/arm64 layouts (LP64).
 */
import {existsSync} from 'node:fs'
import {libc as loadLibc} from './libc.js'

interface IfReq {
  ifr_name: string
  ifr_data: Buffer
}

interface Libc {
  socket: (domain: number, type: number, protocol: number) => number
  ioctl: (fd: number, request: number, req: IfReq) => number
  close: (fd: number) => number
}

let libc: Libc | undefined

function load(): Libc {
  if (libc) return libc
  const {koffi, lib} = loadLibc()
  const ifreq = koffi.struct({ifr_name: koffi.array('char', 16), ifr_data: 'void *', pad: koffi.array('uint8_t', 16)})
  // koffi types its functions loosely; these are the C prototypes declared just here.
  libc = {
    socket: lib.func('socket', 'int', ['int', 'int', 'int']) as Libc['socket'],
    ioctl: lib.func('ioctl', 'int', ['int', 'unsigned long', koffi.pointer(ifreq)]) as Libc['ioctl'],
    close: lib.func('close', 'int', ['int']) as Libc['close'],
  }
  return libc
}

const SIOCETHTOOL = 0x8946
const AF_INET = 2
const SOCK_DGRAM = 2

/** ethtool commands answering one u32 (struct ethtool_value), and libvirt's name for each. */
const VALUE_FEATURES: Array<[number, string]> = [
  [0x14, 'rx'], // ETHTOOL_GRXCSUM
  [0x16, 'tx'], // ETHTOOL_GTXCSUM
  [0x18, 'sg'], // ETHTOOL_GSG
  [0x1e, 'tso'], // ETHTOOL_GTSO
  [0x23, 'gso'], // ETHTOOL_GGSO
  [0x2b, 'gro'], // ETHTOOL_GGRO
]
const ETHTOOL_GFLAGS = 0x25
const FLAG_FEATURES: Array<[number, string]> = [
  [1 << 15, 'lro'],
  [1 << 8, 'rxvlan'],
  [1 << 7, 'txvlan'],
  [1 << 27, 'ntuple'],
  [1 << 28, 'rxhash'],
]
const ETHTOOL_GFEATURES = 0x3a
/** The generic feature bit of UDP tunnel segmentation (NETIF_F_GSO_UDP_TUNNEL). */
const TX_UDP_TNL_BIT = 25

/** The features libvirt lists for `ifname`, in its order; none when the interface answers nothing. */
export function netFeatures(ifname: string, sys = '/sys'): string[] {
  let c: Libc
  try {
    c = load()
  } catch {
    return []
  }
  const fd = c.socket(AF_INET, SOCK_DGRAM, 0)
  if (fd < 0) return []
  try {
    const value = (cmd: number): number | undefined => {
      const data = Buffer.alloc(8)
      data.writeUInt32LE(cmd, 0)
      return c.ioctl(fd, SIOCETHTOOL, {ifr_name: ifname, ifr_data: data}) < 0 ? undefined : data.readUInt32LE(4)
    }
    const out = VALUE_FEATURES.filter(([cmd]) => value(cmd)).map(([, name]) => name)
    const flags = value(ETHTOOL_GFLAGS)
    if (flags !== undefined) out.push(...FLAG_FEATURES.filter(([bit]) => flags & bit).map(([, name]) => name))
    if (existsSync(`${sys}/class/net/${ifname}/device/infiniband`)) out.push('rdma')
    // struct ethtool_gfeatures: cmd, size, then `size` blocks of {available, requested, active, never_changed}.
    const blocks = 2
    const g = Buffer.alloc(8 + blocks * 16)
    g.writeUInt32LE(ETHTOOL_GFEATURES, 0)
    g.writeUInt32LE(blocks, 4)
    if (c.ioctl(fd, SIOCETHTOOL, {ifr_name: ifname, ifr_data: g}) >= 0) {
      const block = Math.floor(TX_UDP_TNL_BIT / 32)
      if (g.readUInt32LE(8 + block * 16 + 8) & (1 << (TX_UDP_TNL_BIT % 32))) out.push('txudptnl')
    }
    return out
  } finally {
    c.close(fd)
  }
}
