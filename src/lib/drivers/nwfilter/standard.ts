/**
 * The standard filters libvirt ships (installed into the config directory on a daemon's first
 * start, each with a fresh UUID, as a package install does), written from the semantics
 * documented at https://libvirt.org/formatnwfilter.html. Short builders keep them readable:
 * r(action, direction, priority, protocol element) and ref(name).
 */

const r = (action: string, direction: string, priority: number, proto?: string) =>
  proto === undefined
    ? `<rule action='${action}' direction='${direction}' priority='${priority}'/>`
    : `<rule action='${action}' direction='${direction}' priority='${priority}'>${proto}</rule>`
const ref = (name: string) => `<filterref filter='${name}'/>`
const filter = (name: string, chain: string, priority: number | undefined, ...body: string[]) =>
  `<filter name='${name}' chain='${chain}'${priority === undefined ? '' : ` priority='${priority}'`}>${body.join('')}</filter>`

const DHCP_OUT = "<ip srcipaddr='0.0.0.0' dstipaddr='255.255.255.255' protocol='udp' srcportstart='68' dstportstart='67'/>"
const DHCP6_OUT = "<ipv6 srcipaddr='fe80::' srcipmask='10' dstipaddr='ff02::1:2' protocol='udp' srcportstart='546' dstportstart='547'/>"
const BCAST = 'ff:ff:ff:ff:ff:ff'
const RARP_ANNOUNCE = `opcode='Request_Reverse' arpsrcmacaddr='$MAC' arpdstmacaddr='$MAC' arpsrcipaddr='0.0.0.0' arpdstipaddr='0.0.0.0'`

/** Name -> definition (without UUID). */
export const STANDARD_FILTERS: ReadonlyArray<readonly [string, string]> = [
  // accept all ARP both ways
  ['allow-arp', filter('allow-arp', 'arp', -500, r('accept', 'inout', 500))],
  // DHCP requests out to the broadcast address, answers in from any server (or from $DHCPSERVER only)
  [
    'allow-dhcp',
    filter(
      'allow-dhcp',
      'ipv4',
      -700,
      r('accept', 'out', 100, DHCP_OUT),
      r('accept', 'in', 100, "<ip protocol='udp' srcportstart='67' dstportstart='68'/>"),
    ),
  ],
  [
    'allow-dhcp-server',
    filter(
      'allow-dhcp-server',
      'ipv4',
      -700,
      r('accept', 'out', 100, DHCP_OUT),
      r('accept', 'in', 100, "<ip srcipaddr='$DHCPSERVER' protocol='udp' srcportstart='67' dstportstart='68'/>"),
    ),
  ],
  [
    'allow-dhcpv6',
    filter(
      'allow-dhcpv6',
      'ipv6',
      -600,
      r('accept', 'out', 100, DHCP6_OUT),
      r('accept', 'in', 100, "<ipv6 protocol='udp' srcportstart='547' dstportstart='546'/>"),
    ),
  ],
  [
    'allow-dhcpv6-server',
    filter(
      'allow-dhcpv6-server',
      'ipv6',
      -600,
      r('accept', 'out', 100, DHCP6_OUT),
      r('accept', 'in', 100, "<ipv6 srcipaddr='$DHCPSERVER' protocol='udp' srcportstart='547' dstportstart='546'/>"),
    ),
  ],
  ['allow-incoming-ipv4', filter('allow-incoming-ipv4', 'ipv4', -700, r('accept', 'in', 500))],
  ['allow-incoming-ipv6', filter('allow-incoming-ipv6', 'ipv6', -600, r('accept', 'in', 500))],
  ['allow-ipv4', filter('allow-ipv4', 'ipv4', -700, r('accept', 'inout', 500))],
  ['allow-ipv6', filter('allow-ipv6', 'ipv6', -600, r('accept', 'inout', 500))],
  // the guest may only use its own MAC and IP (ARP too), IPv4 out, anything IPv4 in, nothing else on layer 2
  [
    'clean-traffic',
    filter(
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
  ],
  // like clean-traffic, but the guest only talks to its gateway ($GATEWAY_MAC)
  [
    'clean-traffic-gateway',
    filter(
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
  ],
  ['no-arp-ip-spoofing', filter('no-arp-ip-spoofing', 'arp-ip', -510, r('return', 'out', 400, "<arp arpsrcipaddr='$IP'/>"), r('drop', 'out', 1000))],
  [
    'no-arp-mac-spoofing',
    filter('no-arp-mac-spoofing', 'arp-mac', -520, r('return', 'out', 350, "<arp arpsrcmacaddr='$MAC'/>"), r('drop', 'out', 1000)),
  ],
  ['no-arp-spoofing', filter('no-arp-spoofing', 'root', undefined, ref('no-arp-mac-spoofing'), ref('no-arp-ip-spoofing'))],
  ['no-ip-multicast', filter('no-ip-multicast', 'ipv4', -700, r('drop', 'out', 500, "<ip dstipaddr='224.0.0.0' dstipmask='4'/>"))],
  // DHCP (from 0.0.0.0) and the guest's own address pass; every other source address is dropped
  [
    'no-ip-spoofing',
    filter(
      'no-ip-spoofing',
      'ipv4-ip',
      -710,
      r('return', 'out', 100, "<ip srcipaddr='0.0.0.0' protocol='udp'/>"),
      r('return', 'out', 500, "<ip srcipaddr='$IP'/>"),
      r('drop', 'out', 1000),
    ),
  ],
  ['no-ipv6-multicast', filter('no-ipv6-multicast', 'ipv6', -600, r('drop', 'out', 500, "<ipv6 dstipaddr='ff00::' dstipmask='8'/>"))],
  [
    'no-ipv6-spoofing',
    filter(
      'no-ipv6-spoofing',
      'ipv6-ip',
      -610,
      r('return', 'out', 100, "<ipv6 srcipaddr='fe80::' srcipmask='10' protocol='udp'/>"),
      r('return', 'out', 500, "<ipv6 srcipaddr='$IPV6'/>"),
      r('drop', 'out', 1000),
    ),
  ],
  ['no-mac-broadcast', filter('no-mac-broadcast', 'ipv4', -700, r('drop', 'out', 500, `<mac dstmacaddr='${BCAST}'/>`))],
  ['no-mac-spoofing', filter('no-mac-spoofing', 'mac', -800, r('return', 'out', 500, "<mac srcmacaddr='$MAC'/>"), r('drop', 'out', 500, '<mac/>'))],
  ['no-other-l2-traffic', filter('no-other-l2-traffic', 'root', undefined, r('drop', 'inout', 1000))],
  ['no-other-rarp-traffic', filter('no-other-rarp-traffic', 'rarp', -400, r('drop', 'inout', 1000))],
  // QEMU's self-announcement after migration: its RARP frames and the 0x835 ethertype
  [
    'qemu-announce-self',
    filter(
      'qemu-announce-self',
      'root',
      undefined,
      r('accept', 'out', 500, "<mac protocolid='0x835'/>"),
      ref('qemu-announce-self-rarp'),
      ref('no-other-rarp-traffic'),
    ),
  ],
  [
    'qemu-announce-self-rarp',
    filter(
      'qemu-announce-self-rarp',
      'rarp',
      -400,
      r('accept', 'out', 500, `<rarp srcmacaddr='$MAC' dstmacaddr='${BCAST}' ${RARP_ANNOUNCE}/>`),
      r('accept', 'in', 500, `<rarp dstmacaddr='${BCAST}' ${RARP_ANNOUNCE}/>`),
    ),
  ],
]
