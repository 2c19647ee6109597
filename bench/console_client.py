#!/usr/bin/python3
"""Console first-byte latency through libvirt-python, alternating between daemons.

usage: console_client.py KERNEL INITRD ROUNDS URI...   (prints JSON: per URI and figure, the samples in ms)
Each round, per daemon: open the tiny guest's console (virDomainOpenConsole on a new stream), send a
carriage return and time until the first byte of the guest's answer arrives, and until its whole
prompt did (read to the end, so that no output is left over for the next round).
"""
import json
import statistics
import sys
import time

import libvirt

KERNEL, INITRD, ROUNDS, URIS = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
libvirt.registerErrorHandler(lambda *a: None, None)

XML = f"""<domain type='qemu'><name>bench-console</name><memory unit='MiB'>128</memory><vcpu>1</vcpu>
<os><type arch='x86_64' machine='pc'>hvm</type><kernel>{KERNEL}</kernel><initrd>{INITRD}</initrd>
<cmdline>console=ttyS0 quiet panic=-1 cryptomgr.notests</cmdline></os><features><acpi/></features>
<devices><serial type='pty'><target port='0'/></serial><console type='pty'><target type='serial' port='0'/></console></devices></domain>"""


def shell_ready(conn, dom):
    """Types until the guest's shell answers (it starts after READY)."""
    st = conn.newStream(0)
    dom.openConsole(None, st, libvirt.VIR_DOMAIN_CONSOLE_FORCE)
    deadline = time.time() + 120
    out = b''
    while time.time() < deadline:
        st.send(b"echo bench-''ready\r")
        end = time.time() + 1
        while time.time() < end and b'\nbench-ready\r\n' not in out:
            st2 = st.recv(65536)
            out += st2 or b''
        if b'\nbench-ready\r\n' in out:
            st.abort()
            return
    raise SystemExit('the guest shell never answered')


def first_byte(conn, dom):
    """(open ms, first byte ms, whole prompt ms), all from before the open."""
    t0 = time.perf_counter()
    st = conn.newStream(0)
    dom.openConsole(None, st, 0)
    t_open = time.perf_counter()
    st.send(b'\r')
    data = st.recv(65536)
    t_first = time.perf_counter()
    if not data:
        raise SystemExit('console ended')
    # read the whole answer (prompt, then the shell's cursor query) so nothing is left for the next round
    while not data.endswith(b'\x1b[6n'):
        more = st.recv(65536)
        if not more:
            raise SystemExit('console ended')
        data += more
    t_prompt = time.perf_counter()
    st.abort()
    return [(t - t0) * 1000.0 for t in (t_open, t_first, t_prompt)]


conns = []
for uri in URIS:
    c = libvirt.open(uri)
    d = c.defineXML(XML)
    d.create()
    conns.append((c, d))
for c, d in conns:
    shell_ready(c, d)
KEYS = ('open_ms', 'first_byte_ms', 'prompt_ms')
samples = {uri: {k: [] for k in KEYS} for uri in URIS}
for i in range(ROUNDS + 2):
    order = conns if i % 2 == 0 else list(reversed(conns))
    uris = URIS if i % 2 == 0 else list(reversed(URIS))
    for uri, (c, d) in zip(uris, order):
        ms = first_byte(c, d)
        if i >= 2:  # two warm-up rounds
            for k, v in zip(KEYS, ms):
                samples[uri][k].append(v)
        time.sleep(0.05)
for c, d in conns:
    d.destroy()
    d.undefine()
print(json.dumps({uri: {k: {'median': statistics.median(v), 'samples': sorted(v)} for k, v in s.items()} for uri, s in samples.items()}))
