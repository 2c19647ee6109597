/**
 * The standard filters libvirt ships (installed into the config directory on a daemon's first
 * start, each with a fresh UUID, as a package install does), written from the semantics
 * documented at https://libvirt.org/formatnwfilter.html. Short builders keep them readable:
 * r(action, direction, priority, protocol element), ref(name) and def(name, chain, priority, ...body).
 */

const r = (action: string, direction: string, priority: number, proto?: string) =>
  proto === undefined
    ? `<rule action='${action}' direction='${direction}' priority='${priority}'/>`
    : `<rule action='${action}' direction='${direction}' priority='${priority}'>${proto}</rule>`
const ref = (name: string) => `<filterref filter='${name}'/>`
const filter = (name: string, chain: string, priority: number | undefined, ...body: string[]) =>
  `<filter name='${name}' chain='${chain}'${priority === undefined ? '' : ` priority='${priority}'`}>${body.join('')}</filter>`
const def = (name: string, chain: string, priority: number | undefined, ...body: string[]) => [name, filter(name, chain, priority, ...body)] as const

const DHCP_OUT = "<ip srcipaddr='0.0.0.0' dstipaddr='255.255.255.255' protocol='udp' srcportstart='68' dstportstart='67'/>"
const DHCP6_OUT = "<ipv6 srcipaddr='fe80::' srcipmask='10' dstipaddr='ff02::1:2' protocol='udp' srcportstart='546' dstportstart='547'/>"
const BCAST = 'ff:ff:ff:ff:ff:ff'
const RARP_ANNOUNCE = `opcode='Request_Reverse' arpsrcmacaddr='$MAC' arpdstmacaddr='$MAC' arpsrcipaddr='0.0.0.0' arpdstipaddr='0.0.0.0'`

/** allow-dhcp[v6][-server]: requests out to the servers' address, answers in (from $DHCPSERVER only for -server). */
function dhcp(v6: boolean, server: boolean) {
  const [el, chain, priority, ports] = v6
    ? ['ipv6', 'ipv6', -600, "srcportstart='547' dstportstart='546'"]
    : ['ip', 'ipv4', -700, "srcportstart='67' dstportstart='68'"]
  const from = server ? "srcipaddr='$DHCPSERVER' " : ''
  return def(
    `allow-dhcp${v6 ? 'v6' : ''}${server ? '-server' : ''}`,
    chain,
    priority,
    r('accept', 'out', 100, v6 ? DHCP6_OUT : DHCP_OUT),
    r('accept', 'in', 100, `<${el} ${from}protocol='udp' ${ports}/>`),
  )
}

/** Name -> definition (without UUID). */
export const STANDARD_FILTERS: ReadonlyArray<readonly [string, string]> = [
  // accept all ARP both ways
  def('allow-arp', 'arp', -500, r('accept', 'inout', 500)),
  // DHCP requests out to the broadcast address, answers in from any server (or from $DHCPSERVER only)
  dhcp(false, false),
  dhcp(false, true),
  dhcp(true, false),
  dhcp(true, true),
  def('allow-incoming-ipv4', 'ipv4', -700, r('accept', 'in', 500)),
  def('allow-incoming-ipv6', 'ipv6', -600, r('accept', 'in', 500)),
  def('allow-ipv4', 'ipv4', -700, r('accept', 'inout', 500)),
  def('allow-ipv6', 'ipv6', -600, r('accept', 'inout', 500)),
  // the guest may only use its own MAC and IP (ARP too), IPv4 out, anything IPv4 in, nothing else on layer 2
  def(
    'clean-traffic',
    'root',
    undefined,
    ref('no-mac-spoofing'),
    ref('no-ip-spoofing'),
    r('accept', 'out', -650, "<mac protocolid='ipv4'/>"),
    ref('allow-incoming-ipv4'),
    ref('no-arp-spoofing'),
    r('accept', 'inout', -500, "<mac protocolid='arp'/>"),
    ref('no-other-l2-traffic'),
    ref('qemu-announce-self'),
  ),
  // like clean-traffic, but the guest only talks to its gateway ($GATEWAY_MAC)
  def(
    'clean-traffic-gateway',
    'root',
    undefined,
    ref('no-mac-spoofing'),
    ref('no-ip-spoofing'),
    ref('no-arp-spoofing'),
    r('accept', 'inout', -500, "<mac protocolid='arp'/>"),
    r('accept', 'in', 500, "<mac srcmacaddr='$GATEWAY_MAC'/>"),
    r('accept', 'out', 500, "<mac dstmacaddr='$GATEWAY_MAC'/>"),
    ref('no-other-l2-traffic'),
    ref('qemu-announce-self'),
  ),
  def('no-arp-ip-spoofing', 'arp-ip', -510, r('return', 'out', 400, "<arp arpsrcipaddr='$IP'/>"), r('drop', 'out', 1000)),
  def('no-arp-mac-spoofing', 'arp-mac', -520, r('return', 'out', 350, "<arp arpsrcmacaddr='$MAC'/>"), r('drop', 'out', 1000)),
  def('no-arp-spoofing', 'root', undefined, ref('no-arp-mac-spoofing'), ref('no-arp-ip-spoofing')),
  def('no-ip-multicast', 'ipv4', -700, r('drop', 'out', 500, "<ip dstipaddr='224.0.0.0' dstipmask='4'/>")),
  // DHCP (from 0.0.0.0) and the guest's own address pass; every other source address is dropped
  def(
    'no-ip-spoofing',
    'ipv4-ip',
    -710,
    r('return', 'out', 100, "<ip srcipaddr='0.0.0.0' protocol='udp'/>"),
    r('return', 'out', 500, "<ip srcipaddr='$IP'/>"),
    r('drop', 'out', 1000),
  ),
  def('no-ipv6-multicast', 'ipv6', -600, r('drop', 'out', 500, "<ipv6 dstipaddr='ff00::' dstipmask='8'/>")),
  def(
    'no-ipv6-spoofing',
    'ipv6-ip',
    -610,
    r('return', 'out', 100, "<ipv6 srcipaddr='fe80::' srcipmask='10' protocol='udp'/>"),
    r('return', 'out', 500, "<ipv6 srcipaddr='$IPV6'/>"),
    r('drop', 'out', 1000),
  ),
  def('no-mac-broadcast', 'ipv4', -700, r('drop', 'out', 500, `<mac dstmacaddr='${BCAST}'/>`)),
  def('no-mac-spoofing', 'mac', -800, r('return', 'out', 500, "<mac srcmacaddr='$MAC'/>"), r('drop', 'out', 500, '<mac/>')),
  def('no-other-l2-traffic', 'root', undefined, r('drop', 'inout', 1000)),
  def('no-other-rarp-traffic', 'rarp', -400, r('drop', 'inout', 1000)),
  // QEMU's self-announcement after migration: its RARP frames and the 0x835 ethertype
  def(
    'qemu-announce-self',
    'root',
    undefined,
    r('accept', 'out', 500, "<mac protocolid='0x835'/>"),
    ref('qemu-announce-self-rarp'),
    ref('no-other-rarp-traffic'),
  ),
  def(
    'qemu-announce-self-rarp',
    'rarp',
    -400,
    r('accept', 'out', 500, `<rarp srcmacaddr='$MAC' dstmacaddr='${BCAST}' ${RARP_ANNOUNCE}/>`),
    r('accept', 'in', 500, `<rarp dstmacaddr='${BCAST}' ${RARP_ANNOUNCE}/>`),
  ),
]
