#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""pktjourney's cost on a TCP stream over a veth, as ratios in one run.

Two network namespaces joined by a veth; a client sends BENCH_MB MiB to a
server over TCP, with no tracer, with pktjourney following nothing (a
filter no packet matches: every hop is a lookup that misses), and with
pktjourney following every packet of the stream (each hop sent to user
space, each journey joined and printed to /dev/null). Runs alternate; the
medians of the transfer time are compared. Root. BENCH_BIN: where
pktjourney is.
"""
import json
import os
import statistics
import subprocess
import sys
import time

BIN = os.environ.get("BENCH_BIN", ".build/release")
MB = int(os.environ.get("BENCH_MB", "256"))
RUNS = int(os.environ.get("BENCH_RUNS", "5"))
PORT = 5201
A, B = f"jc-a-{os.getpid()}", f"jc-b-{os.getpid()}"

SERVER = f"""
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.250.0.2", {PORT})); s.listen()
print("ready", flush=True)
while True:
    c, _ = s.accept()
    while c.recv(1 << 20):
        pass
    c.close()
"""

CLIENT = f"""
import socket, time
chunk = b"x" * (1 << 20)
s = socket.create_connection(("10.250.0.2", {PORT}))
t = time.monotonic()
for _ in range({MB}):
    s.sendall(chunk)
s.shutdown(socket.SHUT_WR); s.recv(1); s.close()
print(time.monotonic() - t)
"""


def sh(*argv):
    subprocess.run(argv, check=True)


def transfer():
    out = subprocess.run(["ip", "netns", "exec", A, "python3", "-c", CLIENT], capture_output=True, text=True, check=True)
    return float(out.stdout.split()[0])


def traced(args):
    tool = subprocess.Popen([f"{BIN}/pktjourney", "--json"] + args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    line = ""
    while "Hit Ctrl-C" not in line:
        line = tool.stderr.readline()
        if not line and tool.poll() is not None:
            sys.exit("journeycost: pktjourney did not start")
    seconds = transfer()
    tool.send_signal(2)
    tail = tool.communicate(timeout=60)[1]
    lost = [l for l in tail.splitlines() if "lost" in l]
    return seconds, (lost[-1].strip() if lost else "")


def program_costs(args):
    """One more transfer with the kernel's BPF statistics on: each of
    pktjourney's programs' runs and mean time per run, as bpftool reads them."""
    subprocess.run(["sysctl", "-qw", "kernel.bpf_stats_enabled=1"], check=True)
    tool = subprocess.Popen([f"{BIN}/pktjourney", "--json"] + args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        line = ""
        while "Hit Ctrl-C" not in line:
            line = tool.stderr.readline()
            if not line and tool.poll() is not None:
                sys.exit("journeycost: pktjourney did not start")
        transfer()
        shown = json.loads(subprocess.run(["bpftool", "-j", "prog", "show"], capture_output=True, text=True, check=True).stdout)
    finally:
        tool.send_signal(2)
        tool.communicate(timeout=60)
        subprocess.run(["sysctl", "-qw", "kernel.bpf_stats_enabled=0"])
    return {p["name"]: (p["run_cnt"], p["run_time_ns"]) for p in shown
            if p.get("name", "").startswith("journey") and p.get("run_cnt")}


def main():
    for ns in (A, B):
        sh("ip", "netns", "add", ns)
        sh("ip", "-n", ns, "link", "set", "lo", "up")
    server = None
    try:
        sh("ip", "link", "add", "jc0", "netns", A, "type", "veth", "peer", "name", "jc0", "netns", B)
        sh("ip", "-n", A, "addr", "add", "10.250.0.1/24", "dev", "jc0")
        sh("ip", "-n", B, "addr", "add", "10.250.0.2/24", "dev", "jc0")
        sh("ip", "-n", A, "link", "set", "jc0", "up")
        sh("ip", "-n", B, "link", "set", "jc0", "up")
        server = subprocess.Popen(["ip", "netns", "exec", B, "python3", "-c", SERVER], stdout=subprocess.PIPE, text=True)
        server.stdout.readline()
        transfer()  # warm up
        plain, nothing, devices, everything, note = [], [], [], [], ""
        for _ in range(RUNS):
            plain.append(transfer())
            nothing.append(traced(["--port", "9"])[0])
            devices.append(traced(["--port", "9", "--no-netfilter"])[0])
            seconds, note = traced(["--port", str(PORT)])
            everything.append(seconds)
        costs = program_costs(["--port", "9"])
    finally:
        if server:
            server.kill()
        for ns in (A, B):
            subprocess.run(["ip", "netns", "del", ns])
    p, n, d, e = statistics.median(plain), statistics.median(nothing), statistics.median(devices), statistics.median(everything)
    print(f"\npktjourney on a veth TCP stream ({MB} MiB per run, {RUNS} runs each, medians of the transfer time):")
    print(f"  no tracer                  {p:7.3f} s")
    print(f"  pktjourney, no match       {n:7.3f} s   ratio {n / p:5.2f}x   (every hop a missed lookup)")
    print(f"  the same, --no-netfilter   {d:7.3f} s   ratio {d / p:5.2f}x   (the device and route tracepoints only)")
    print(f"  pktjourney, every packet   {e:7.3f} s   ratio {e / p:5.2f}x   (every hop sent and joined; {note or 'lost: not reported'})")
    # Segments: each is received once (journey_rx runs once per packet).
    segments = costs.get("journey_rx", (0, 0))[0]
    total = sum(ns for _, ns in costs.values())
    print("\npktjourney's programs following nothing (kernel.bpf_stats_enabled, one more run):")
    for name, (runs, ns) in sorted(costs.items()):
        print(f"  {name:18} {runs:9} runs   {ns / runs:7.1f} ns per run")
    if segments:
        print(f"  in all: {total / segments:7.0f} ns per packet ({segments} packets)")


if __name__ == "__main__":
    main()
