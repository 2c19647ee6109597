#!/usr/bin/python3
"""Drives one daemon with libvirt-python and prints JSON figures.

usage: client.py URI DURATION_S
Measures getVersion calls/s with 1 and 20 clients, then defines 1,000 domains and measures
listAllDomains latency and `virsh list --all` wall time while a connection holds them.
"""
import json
import multiprocessing as mp
import subprocess
import sys
import time

import libvirt

URI = sys.argv[1]
DUR = float(sys.argv[2]) if len(sys.argv) > 2 else 3.0
libvirt.registerErrorHandler(lambda *a: None, None)


def calls_for(duration, barrier=None):
    conn = libvirt.open(URI)
    if barrier is not None:
        barrier.wait()
    n = 0
    end = time.perf_counter() + duration
    while time.perf_counter() < end:
        for _ in range(100):
            conn.getVersion()
        n += 100
    conn.close()
    return n


def worker(args):
    duration, barrier = args
    return calls_for(duration, barrier)


def get_version_rate(clients):
    if clients == 1:
        calls_for(0.3)  # warm up
        return calls_for(DUR) / DUR
    ctx = mp.get_context('fork')
    barrier = ctx.Manager().Barrier(clients)
    with ctx.Pool(clients) as pool:
        counts = pool.map(worker, [(DUR, barrier)] * clients)
    return sum(counts) / DUR


XML = "<domain type='test'><name>bench%04d</name><memory unit='MiB'>64</memory><vcpu>1</vcpu><os><type>hvm</type></os></domain>"


def main():
    out = {}
    out['getVersion_1'] = get_version_rate(1)
    out['getVersion_20'] = get_version_rate(20)
    conn = libvirt.open(URI)  # held open: libvirtd's test driver forgets state without clients
    for i in range(1000):
        conn.defineXML(XML % i)
    conn.listAllDomains(0)
    n = 20
    t0 = time.perf_counter()
    for _ in range(n):
        doms = conn.listAllDomains(0)
    out['listAllDomains_1000_ms'] = (time.perf_counter() - t0) / n * 1000
    out['listAllDomains_count'] = len(doms)
    runs = 5
    t0 = time.perf_counter()
    for _ in range(runs):
        r = subprocess.run(['virsh', '-c', URI, 'list', '--all'], capture_output=True, text=True, check=True)
    out['virsh_list_all_1000_ms'] = (time.perf_counter() - t0) / runs * 1000
    out['virsh_list_lines'] = len([l for l in r.stdout.splitlines() if 'bench' in l])
    for d in conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_INACTIVE):
        d.undefine()
    conn.close()
    print(json.dumps(out))


if __name__ == '__main__':
    main()
