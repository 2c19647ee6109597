/**
 * The test driver's node devices (test:///default) as libvirt's test driver has them: the `computer`
 * and three fibre channel SCSI hosts; vHBAs created from an fc_host XML (copies of scsi_host11 under a
 * new name, parent and WWNs) and destroyed again. Capability-filtered lists only (libvirt's test driver
 * refuses the active/inactive filters); define, undefine, start and autostart are not supported.
 */
import {EventEmitter} from 'node:events'
import {ErrorDomain, VirError, errors} from '../../errors.js'
import {attr, child, childrenNamed, parseXml, textOf} from '../../conf/xml.js'
import {NodeDeviceCapFlag, NodeDeviceEvent, type NodeDeviceDriver} from '../nodedev-types.js'
import {checkFlags, flagsError} from '../host-types.js'

const D = ErrorDomain.TEST
const NODEDEV = ErrorDomain.NODEDEV
/** VIR_ERR_NO_NODE_DEVICE */
const NO_NODE_DEVICE = 53

interface TestDev {
  name: string
  parent: string | null
  /** Capabilities as virNodeDeviceListCaps lists them, and those the list filters match. */
  caps: string[]
  listCaps: string[]
  fc?: {host: number; uniqueId: number; wwnn: string; wwpn: string; fabric: string; vports: boolean}
}

const COMPUTER_XML = `<device>
  <name>computer</name>
  <capability type='system'>
    <hardware>
      <vendor>Libvirt</vendor>
      <version>Test driver</version>
      <serial>123456</serial>
      <uuid>11111111-2222-3333-4444-555555555555</uuid>
    </hardware>
    <firmware>
      <vendor>Libvirt</vendor>
      <version>Test Driver</version>
      <release_date>01/22/2007</release_date>
    </firmware>
  </capability>
</device>
`

function scsiHost(name: string, parent: string, fc: NonNullable<TestDev['fc']>): TestDev {
  return {name, parent, caps: ['scsi_host'], listCaps: fc.vports ? ['scsi_host', 'fc_host', 'vports'] : ['scsi_host', 'fc_host'], fc}
}

function fcXml(d: TestDev): string {
  const fc = d.fc
  if (!fc) return ''
  const vports = fc.vports ? `    <capability type='vport_ops'>\n      <max_vports>0</max_vports>\n      <vports>0</vports>\n    </capability>\n` : ''
  return `<device>
  <name>${d.name}</name>
  <parent>${d.parent ?? ''}</parent>
  <capability type='scsi_host'>
    <host>${fc.host}</host>
    <unique_id>${fc.uniqueId}</unique_id>
    <capability type='fc_host'>
      <wwnn>${fc.wwnn}</wwnn>
      <wwpn>${fc.wwpn}</wwpn>
      <fabric_wwn>${fc.fabric}</fabric_wwn>
    </capability>
${vports}  </capability>
</device>
`
}

export class TestNodeDeviceDriver implements NodeDeviceDriver {
  readonly events = new EventEmitter()
  /** In the order libvirt's test driver lists them. */
  private devs: TestDev[] = [
    scsiHost('scsi_host11', 'scsi_host1', {
      host: 11,
      uniqueId: 10,
      wwnn: '2000000034563456',
      wwpn: '1000000034563456',
      fabric: '2000000043214321',
      vports: false,
    }),
    scsiHost('scsi_host1', 'computer', {
      host: 1,
      uniqueId: 0,
      wwnn: '2000000012341234',
      wwpn: '1000000012341234',
      fabric: '2000000043214321',
      vports: true,
    }),
    {name: 'computer', parent: null, caps: ['system'], listCaps: ['system']},
    scsiHost('scsi_host2', 'computer', {
      host: 2,
      uniqueId: 1,
      wwnn: '2000000056785678',
      wwpn: '1000000056785678',
      fabric: '2000000087658765',
      vports: true,
    }),
  ]

  /** Calls libvirt's test driver has no function for. */
  readonly unsupported = new Set([
    'virNodeDeviceLookupSCSIHostByWWN',
    'virNodeDeviceDefineXML',
    'virNodeDeviceUndefine',
    'virNodeDeviceCreate',
    'virNodeDeviceIsPersistent',
    'virNodeDeviceIsActive',
    'virNodeDeviceGetAutostart',
    'virNodeDeviceSetAutostart',
  ])

  private get(name: string): TestDev {
    const d = this.devs.find((x) => x.name === name)
    if (!d) {
      const detail = `no node device with matching name '${name}'`
      throw new VirError(NO_NODE_DEVICE, D, `Node device not found: ${detail}`, {str1: 'Node device not found: %s', str2: detail})
    }
    return d
  }

  listAllNodeDevices(flags: number): string[] {
    const capMask = Object.values(NodeDeviceCapFlag).reduce((a, b) => a | b, 0)
    const bad = (flags & ~capMask) >>> 0
    if (bad) throw flagsError(D, bad, 'testConnectListAllNodeDevices')
    if (!flags) return this.devs.map((d) => d.name)
    return this.devs.filter((d) => d.listCaps.some((c) => (NodeDeviceCapFlag[c] ?? 0) & flags)).map((d) => d.name)
  }

  listNodeDevices(cap: string | null): string[] {
    return this.devs.filter((d) => cap === null || d.listCaps.includes(cap)).map((d) => d.name)
  }

  lookupNodeDevice(name: string): string {
    return this.get(name).name
  }

  nodeDeviceGetXMLDesc(name: string): string {
    const d = this.get(name)
    return d.fc ? fcXml(d) : COMPUTER_XML
  }

  nodeDeviceGetParent(name: string): string | null {
    return this.get(name).parent
  }

  nodeDeviceListCaps(name: string): string[] {
    return this.get(name).caps
  }

  nodeDeviceIsPersistent(): boolean {
    throw errors.noSupport(NODEDEV, 'virNodeDeviceIsPersistent')
  }

  nodeDeviceGetAutostart(): boolean {
    throw errors.noSupport(NODEDEV, 'virNodeDeviceGetAutostart')
  }

  nodeDevicePciAddress(): string | null {
    return null
  }

  /** A vHBA: fc_host XML with WWNs, on a parent that can host vports. */
  nodeDeviceCreateXML(xml: string, flags: number): string {
    checkFlags(flags, 0, 'testNodeDeviceCreateXML', D)
    const root = parseXml(xml, 'node_device_definition', NODEDEV)
    if (root.name !== 'device') throw errors.xmlError(NODEDEV, `unexpected root element <${root.name}>, expecting <device>`)
    const cap = child(root, 'capability')
    if (!cap) throw errors.internal(NODEDEV, "no device capabilities for 'new device'")
    const fcCap = childrenNamed(cap, 'capability').find((c) => attr(c, 'type') === 'fc_host')
    if (attr(cap, 'type') !== 'scsi_host' || !fcCap) throw errors.internal(NODEDEV, 'Device is not a fibre channel HBA')
    const wwnn = textOf(child(fcCap, 'wwnn'))
    const wwpn = textOf(child(fcCap, 'wwpn'))
    if (!wwnn) throw errors.internal(NODEDEV, "no WWNN supplied for 'new device', and auto-generation failed")
    if (!wwpn) throw errors.internal(NODEDEV, "no WWPN supplied for 'new device', and auto-generation failed")
    const parentName = textOf(child(root, 'parent')) || 'scsi_host1'
    this.get(parentName)
    const template = this.get('scsi_host11').fc
    let n = 12
    while (this.devs.some((d) => d.name === `scsi_host${n}`)) n++
    const dev = scsiHost(`scsi_host${n}`, parentName, {
      host: template?.host ?? 11,
      uniqueId: template?.uniqueId ?? 10,
      wwnn,
      wwpn,
      fabric: template?.fabric ?? '',
      vports: false,
    })
    const at = this.devs.findIndex((d) => d.name === 'scsi_host11')
    this.devs.splice(at + 1, 0, dev)
    this.events.emit('lifecycle', {name: dev.name, event: NodeDeviceEvent.CREATED})
    return dev.name
  }

  /** Removes a vHBA; a device that is not one is left alone, as libvirt's test driver does. */
  nodeDeviceDestroy(name: string): void {
    const d = this.get(name)
    if (!d.fc || d.listCaps.includes('vports')) return
    this.devs = this.devs.filter((x) => x !== d)
    this.events.emit('lifecycle', {name, event: NodeDeviceEvent.DELETED})
  }

  close(): void {}
}
