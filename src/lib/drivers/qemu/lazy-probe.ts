/**
 * The probed QEMU (QemuProbe) with the host's facts and the capabilities XML read when first asked
 * for: decoding the host CPU (through KVM where there is one) is not on a socket-activated daemon's
 * way to its first answer, which needs only QEMU's own capabilities.
 */
import {buildCapabilitiesXml, type QemuCaps} from './capabilities.js'
import type {QemuProbe} from './context.js'
import {readHostFacts, type HostFacts} from './host.js'

export function lazyProbe(caps: QemuCaps, target: QemuProbe['target'], kvm: boolean, compat: QemuCaps[], hostUuid?: string): QemuProbe {
  let host: HostFacts | undefined
  let capsXml: string | undefined
  const probe: QemuProbe = {
    caps,
    compat,
    target,
    get host(): HostFacts {
      if (!host) {
        host = readHostFacts()
        if (hostUuid) host.hostUuid = hostUuid
      }
      return host
    },
    get capsXml(): string {
      capsXml ??= buildCapabilitiesXml(caps, probe.host, kvm, compat)
      return capsXml
    },
  }
  return probe
}
