#!/usr/bin/python3
"""Drives one daemon with libvirt-python and prints one JSON object of figures.

usage: client.py URI DURATION_S MEASURE
MEASURE is one of:
  rate1     getVersion calls/s, one client calling back to back
  rate20    getVersion calls/s, 20 clients (processes) at once
  fair      a second client's getVersion latency (ms: median, p99, max) while one client
            streams getVersion calls back to back; also the streamer's calls/s meanwhile
  domains   defines 1,000 domains, then listAllDomains latency and `virsh list --all` wall
            time while a connection holds them
"""
import json
import multiprocessing as mp
import subprocess
import sys
import time

import libvirt

URI = sys.argv[1]
DUR = float(sys.argv[2]) if len(sys.argv) > 2 else 3.0
MEASURE = sys.argv[3] if len(sys.argv) > 3 else 'rate1'
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


def streamer(ready, stop, count):
    conn = libvirt.open(URI)
    ready.set()
    n = 0
    while not stop.is_set():
        for _ in range(100):
            conn.getVersion()
        n += 100
    count.value = n
    conn.close()


def percentile(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def fairness():
    ctx = mp.get_context('fork')
    ready, stop, count = ctx.Event(), ctx.Event(), ctx.Value('l', 0)
    p = ctx.Process(target=streamer, args=(ready, stop, count))
    p.start()
    ready.wait()
    time.sleep(0.3)
    conn = libvirt.open(URI)
    lat = []
    t_start = time.perf_counter()
    end = t_start + DUR
    while time.perf_counter() < end:
        t0 = time.perf_counter()
        conn.getVersion()
        lat.append((time.perf_counter() - t0) * 1000)
        time.sleep(0.01)
    stop.set()
    p.join()
    conn.close()
    return {
        'fair_median_ms': percentile(lat, 0.5),
        'fair_p99_ms': percentile(lat, 0.99),
        'fair_max_ms': max(lat),
        'fair_calls': len(lat),
        'fair_streamer_rate': count.value / (time.perf_counter() - t_start),
    }


XML = "<domain type='test'><name>bench%04d</name><memory unit='MiB'>64</memory><vcpu>1</vcpu><os><type>hvm</type></os></domain>"


def domains():
    out = {}
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
    return out


def main():
    if MEASURE == 'rate1':
        out = {'getVersion_1': get_version_rate(1)}
    elif MEASURE == 'rate20':
        out = {'getVersion_20': get_version_rate(20)}
    elif MEASURE == 'fair':
        out = fairness()
    elif MEASURE == 'domains':
        out = domains()
    else:
        raise SystemExit('unknown measure ' + MEASURE)
    print(json.dumps(out))


if __name__ == '__main__':
    main()
