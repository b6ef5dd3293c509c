#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""egressguard's cost on a loopback connect storm, as a ratio in one run.

A C program (bench/connectstorm.c) connects to a loopback listener N times
from a cgroup of its own, with no guard and with `egressguard --cgroup`
allowing it (so every connect passes through the connect4 hook, is
decided, counted and sent as an event that egressguard prints to
/dev/null). Runs alternate; the medians are compared. Target: the guard
adds at most 10% to a connect. Root. BENCH_BIN: where egressguard is.
"""
import os
import statistics
import subprocess
import sys
import time

BIN = os.environ.get("BENCH_BIN", ".build/release")
STORM = os.environ.get("BENCH_STORM", ".build/bench/connectstorm")
N = int(os.environ.get("BENCH_CONNECTS", "20000"))
RUNS = int(os.environ.get("BENCH_RUNS", "5"))


def cgroup_root():
    for line in open("/proc/self/mountinfo"):
        left, _, right = line.partition(" - ")
        if right.startswith("cgroup2 ") and left.split()[3] == "/":
            return left.split()[4]
    sys.exit("connectcost: no cgroup v2 hierarchy is mounted")


def storm(cgdir):
    out = subprocess.run(["sh", "-c", f"echo $$ > {cgdir}/cgroup.procs && exec {STORM} {N}"],
                         capture_output=True, text=True, check=True).stdout.split()
    return float(out[0]), int(out[1])


def main():
    root = cgroup_root()
    name = f"/swiftbpf-connectcost-{os.getpid()}"
    cgdir = root + name
    os.mkdir(cgdir)
    plain, guarded, failures = [], [], 0
    try:
        storm(cgdir)  # warm up
        for _ in range(RUNS):
            ns, failed = storm(cgdir)
            plain.append(ns)
            failures += failed
            guard = subprocess.Popen([f"{BIN}/egressguard", "--cgroup", name, "--allow", "tcp@127.0.0.0/8", "--json"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            line = ""
            while "Hit Ctrl-C" not in line:
                line = guard.stderr.readline()
                if not line and guard.poll() is not None:
                    sys.exit("connectcost: egressguard did not start")
            ns, failed = storm(cgdir)
            guarded.append(ns)
            failures += failed
            guard.send_signal(2)
            guard.wait(timeout=30)
    finally:
        time.sleep(0.2)
        os.rmdir(cgdir)
    p, g = statistics.median(plain), statistics.median(guarded)
    print(f"\negressguard on a loopback connect storm ({N} connects per run, {RUNS} runs each, medians):")
    print(f"  no guard        {p:8.0f} ns per connect")
    print(f"  egressguard     {g:8.0f} ns per connect   (every connect decided, counted and sent as an event)")
    print(f"  ratio           {g / p:8.2f}x   target: at most 1.10x")
    if failures:
        print(f"  failed connects: {failures} (the numbers above are not comparable)")


if __name__ == "__main__":
    main()
