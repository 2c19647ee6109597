#!/usr/bin/python3
"""QEMU driver latencies through libvirt-python: usage qemu_client.py URI KERNEL INITRD WORKDIR."""
import json
import os
import statistics
import sys
import time

import libvirt

URI, KERNEL, INITRD, WORK = sys.argv[1:5]
libvirt.registerErrorHandler(lambda *a: None, None)
conn = libvirt.open(URI)

NOOS = """<domain type='qemu'><name>bench-noos</name><memory unit='MiB'>128</memory><vcpu>1</vcpu>
<os><type arch='x86_64' machine='pc'>hvm</type></os><devices></devices></domain>"""


def tiny(log):
    return f"""<domain type='qemu'><name>bench-tiny</name><memory unit='MiB'>128</memory><vcpu>1</vcpu>
<os><type arch='x86_64' machine='pc'>hvm</type><kernel>{KERNEL}</kernel><initrd>{INITRD}</initrd>
<cmdline>console=ttyS0 quiet panic=-1 cryptomgr.notests</cmdline></os><features><acpi/></features>
<devices><serial type='file'><source path='{log}'/><target port='0'/></serial></devices></domain>"""


def ms(t):
    return t * 1000.0


def main():
    out = {'start_ms': [], 'destroy_ms': [], 'shutdown_after_poweroff_ms': []}
    dom = conn.defineXML(NOOS)
    dom.create(); dom.destroy()  # warm-up (first start may probe)
    for _ in range(5):
        t0 = time.perf_counter(); dom.create(); out['start_ms'].append(ms(time.perf_counter() - t0))
        time.sleep(0.3)
        t0 = time.perf_counter(); dom.destroy(); out['destroy_ms'].append(ms(time.perf_counter() - t0))
    dom.undefine()
    log = os.path.join(WORK, 'bench-tiny.log')
    dom = conn.defineXML(tiny(log))
    for _ in range(3):
        if os.path.exists(log):
            os.unlink(log)
        dom.create()
        deadline = time.time() + 30
        while time.time() < deadline:
            if os.path.exists(log) and 'VCTL-GUEST READY' in open(log, errors='replace').read():
                break
            time.sleep(0.01)
        else:
            raise SystemExit('guest never printed READY')
        dom.shutdown()
        seen = None
        while True:
            now = time.perf_counter()
            if seen is None and 'VCTL-GUEST POWEROFF' in open(log, errors='replace').read():
                seen = now
            if dom.state()[0] == libvirt.VIR_DOMAIN_SHUTOFF:
                if seen is None:
                    seen = now
                out['shutdown_after_poweroff_ms'].append(ms(now - seen))
                break
            time.sleep(0.002)
    dom.undefine()
    print(json.dumps({k: statistics.median(v) for k, v in out.items()} | {'raw': out}))


main()
