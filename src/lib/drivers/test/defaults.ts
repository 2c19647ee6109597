/**
 * The host a fresh test driver shows, matching libvirt's test:///default: one running domain
 * "test", an active network "default", an active pool "default-pool", and fixed node facts.
 */
import type {NodeInfo} from '../types.js'

export const TEST_NODE_INFO: NodeInfo = {
  model: 'i686',
  memoryKiB: 3145728n,
  cpus: 16,
  mhz: 1400,
  nodes: 2,
  sockets: 2,
  cores: 2,
  threads: 2,
}

export const TEST_DOMAIN_XML = `<domain type='test'>
  <name>test</name>
  <uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>
  <memory>8388608</memory>
  <currentMemory>2097152</currentMemory>
  <vcpu>2</vcpu>
  <os>
    <type>hvm</type>
  </os>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <disk type='file' device='disk'>
      <source file='/guest/diskimage1'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <interface type='network'>
      <mac address='aa:bb:cc:dd:ee:ff'/>
      <source network='default'/>
      <target dev='testnet0'/>
    </interface>
    <memballoon model='virtio'/>
  </devices>
</domain>
`

export const TEST_NETWORK_XML = `<network>
  <name>default</name>
  <uuid>dd8fe884-6c02-601e-7551-cca97df1c5df</uuid>
  <bridge name='virbr0'/>
  <forward/>
  <ip address='192.168.122.1' netmask='255.255.255.0'>
    <dhcp>
      <range start='192.168.122.2' end='192.168.122.254'/>
    </dhcp>
  </ip>
</network>
`

export const TEST_POOL_XML = `<pool type='dir'>
  <name>default-pool</name>
  <uuid>dfe224cb-28fb-8dd0-c4b2-64eb3f0f4566</uuid>
  <target>
    <path>/default-pool</path>
  </target>
</pool>
`

/** Capacity of the default pool: 100 GiB, nothing allocated. */
export const TEST_POOL_CAPACITY = 107374182400n
