#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""swift-bpf benchmark: our tracers beside C yardsticks on syscall storms.

For each storm (mkdir on an existing directory, openat of a missing file),
in one run: no tracer; our tool writing to a file; a C libbpf consumer of
our own mkdir probe (the lower bound of consumer cost); libbpf-tools
opensnoop (open storm); a bpftrace one-liner on the same tracepoint. Each
row runs BENCH_RUNS times; the table shows medians and spread, and ratios
against the C row measured in the same run, because this machine is noisy.

Environment: BENCH_N (calls per storm, default 1000000), BENCH_RUNS
(default 3), BENCH_BIN (our release binaries), BENCH_OBJ (mkdirtrace.bpf.o).
"""
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time

N = int(os.environ.get("BENCH_N", "1000000"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, ".build", "bench")
BIN = os.environ.get("BENCH_BIN", os.path.join(ROOT, ".build", "release"))
OBJ = os.environ.get("BENCH_OBJ", "")
STORM = os.path.join(OUT, "storm")
CONSUMER = os.path.join(OUT, "mkdir_consumer")


def tracer_rows(kind):
    """(name, argv, attach marker, which stream has it, PID column, is C)."""
    if kind == "mkdir":
        return [
            ("mkdirtrace (swift-bpf)", [f"{BIN}/mkdirtrace"], "Hit Ctrl-C", "err", 1, False),
            ("C libbpf consumer", [CONSUMER, OBJ], "attached", "err", 1, True),
            ("bpftrace", ["bpftrace", "-e", 'BEGIN { printf("ready\\n"); } '
             'tracepoint:syscalls:sys_exit_mkdir { printf("%d %d\\n", pid, args->ret); }'], "ready", "out", 0, False),
        ]
    return [
        ("opensnoop (swift-bpf)", [f"{BIN}/opensnoop"], "Hit Ctrl-C", "err", 1, False),
        ("libbpf-tools opensnoop", ["stdbuf", "-oL", "/usr/sbin/opensnoop"], "PID", "out", 0, True),
        ("bpftrace", ["bpftrace", "-e", 'BEGIN { printf("ready\\n"); } '
         'tracepoint:syscalls:sys_exit_openat { printf("%d %d\\n", pid, args->ret); }'], "ready", "out", 0, False),
    ]


def start_storm(kind, workdir):
    p = subprocess.Popen([STORM, kind, str(N), workdir], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline().split()
    assert line and line[0] == "ready", line
    return p, int(line[1])


def finish_storm(p):
    p.stdin.write("go\n")
    p.stdin.flush()
    out = p.stdout.read()
    p.wait()
    m = re.search(r"rate (\d+)", out)
    return float(m.group(1))


def wait_for(path, marker, timeout=30.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with open(path, "rb") as f:
                if marker.encode() in f.read(65536):
                    return True
        except FileNotFoundError:
            pass
        time.sleep(0.001)
    return False


def count_pid_lines(path, pid, column):
    want = str(pid).encode()
    n = 0
    with open(path, "rb") as f:
        for line in f:
            fields = line.split()
            if len(fields) > column and fields[column] == want:
                n += 1
    return n


def lost_from(stderr_text):
    total = 0
    for pattern in (r"(\d+) events, (\d+) lost", r"[Ll]ost (\d+) events"):
        for m in re.finditer(pattern, stderr_text):
            total += int(m.groups()[-1])
    return total


def run_once(kind, row, workdir):
    storm, pid = start_storm(kind, workdir)
    if row is None:
        rate = finish_storm(storm)
        return {"rate": rate}
    name, argv, marker, stream, column, _ = row
    out_path, err_path = os.path.join(workdir, "out"), os.path.join(workdir, "err")
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        t0 = time.monotonic()
        tracer = subprocess.Popen(argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        ok = wait_for(err_path if stream == "err" else out_path, marker)
        startup = time.monotonic() - t0
        if not ok:
            tracer.kill()
            raise RuntimeError(f"{name} did not attach: {open(err_path).read()[-500:]}")
        rate = finish_storm(storm)
        time.sleep(1.0)  # let the consumer drain
        tracer.send_signal(signal.SIGINT)
        _, status, usage = os.wait4(tracer.pid, 0)
        tracer.returncode = status
    captured = count_pid_lines(out_path, pid, column)
    stderr_text = open(err_path, errors="replace").read()
    cpu = usage.ru_utime + usage.ru_stime
    return {
        "rate": rate, "captured": captured, "lost": lost_from(stderr_text), "cpu_s": cpu,
        "cpu_s_per_million": cpu / max(captured, 1) * 1e6, "startup_ms": startup * 1000,
        "peak_rss_mb": usage.ru_maxrss / 1024,
    }


def summarize(samples, key):
    values = [s[key] for s in samples if key in s]
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def main():
    if os.geteuid() != 0:
        sys.exit("bench: run as root (it loads BPF programs)")
    for tool in (STORM, CONSUMER, f"{BIN}/mkdirtrace", f"{BIN}/opensnoop"):
        if not os.access(tool, os.X_OK):
            sys.exit(f"bench: {tool} is missing; run 'make bench'")
    results = {"n": N, "runs": RUNS, "storms": {}}
    for kind in ("mkdir", "open"):
        rows = [None] + tracer_rows(kind)
        samples = {("no tracer" if r is None else r[0]): [] for r in rows}
        with tempfile.TemporaryDirectory(prefix="swiftbpf-bench.") as workdir:
            # Interleave rows within each repetition so drift hits all alike.
            for rep in range(RUNS):
                for row in rows:
                    name = "no tracer" if row is None else row[0]
                    print(f"  {kind} storm, run {rep + 1}/{RUNS}: {name}", file=sys.stderr, flush=True)
                    samples[name].append(run_once(kind, row, workdir))
        base = statistics.median(s["rate"] for s in samples["no tracer"])
        table = {}
        for row in rows:
            name = "no tracer" if row is None else row[0]
            s = samples[name]
            entry = {k: summarize(s, k) for k in ("rate", "captured", "lost", "cpu_s_per_million", "startup_ms", "peak_rss_mb")}
            entry["slowdown"] = base / entry["rate"]["median"]
            entry["is_c"] = row is not None and row[5]
            table[name] = {k: v for k, v in entry.items() if v is not None}
        results["storms"][kind] = table
    print_report(results)
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "summary.json"), "w") as f:
        json.dump(results, f, indent=2)
    print(f"\nJSON summary: {os.path.join(OUT, 'summary.json')}")


def fmt(stat, scale=1.0, digits=0):
    if not stat:
        return "-"
    m, lo, hi = stat["median"] * scale, stat["min"] * scale, stat["max"] * scale
    return f"{m:,.{digits}f} ({lo:,.{digits}f}-{hi:,.{digits}f})"


def print_report(results):
    n = results["n"]
    print(f"\nswift-bpf benchmark: {n:,} calls per storm, {results['runs']} runs; median (min-max)")
    for kind, table in results["storms"].items():
        c_rows = [k for k, v in table.items() if v.get("is_c")]
        best_c = min(c_rows, key=lambda k: table[k]["cpu_s_per_million"]["median"]) if c_rows else None
        print(f"\n{kind} storm (ratios against {best_c}):")
        print(f"{'tracer':26} {'calls/s':>22} {'slowdown':>8} {'captured %':>11} {'lost':>16} "
              f"{'CPU s/M ev':>20} {'x C':>5} {'start ms':>16} {'RSS MB':>7}")
        for name, v in table.items():
            captured = fmt({k: x / n * 100 for k, x in v["captured"].items()}, digits=2) if "captured" in v else "-"
            ratio = "-"
            if best_c and "cpu_s_per_million" in v:
                ratio = f"{v['cpu_s_per_million']['median'] / table[best_c]['cpu_s_per_million']['median']:.2f}"
            rss = f"{v['peak_rss_mb']['median']:.1f}" if "peak_rss_mb" in v else "-"
            print(f"{name:26} {fmt(v['rate']):>22} {v['slowdown']:8.2f} {captured:>11} {fmt(v.get('lost')):>16} "
                  f"{fmt(v.get('cpu_s_per_million'), digits=2):>20} {ratio:>5} {fmt(v.get('startup_ms'), digits=1):>16} {rss:>7}")
    print("\nTargets:")
    for kind, ours, yard in (("mkdir", "mkdirtrace (swift-bpf)", "C libbpf consumer"),
                             ("open", "opensnoop (swift-bpf)", "libbpf-tools opensnoop")):
        t = results["storms"][kind]
        o = t[ours]
        lost_ok = o["lost"]["max"] == 0 and o["captured"]["min"] == n
        print(f"  {ours}: no events lost ({o['captured']['min']:,} of {n:,} captured, {o['lost']['max']:,} lost): "
              f"{'met' if lost_ok else 'MISSED'}")
        start = o["startup_ms"]["median"]
        print(f"  {ours}: start-up to attached {start:.1f} ms (target < 100 ms): {'met' if start < 100 else 'MISSED'}")
        if kind == "mkdir":
            ratio = o["cpu_s_per_million"]["median"] / t[yard]["cpu_s_per_million"]["median"]
            print(f"  {ours}: CPU per event {ratio:.2f}x the C consumer (target <= 1.25x): {'met' if ratio <= 1.25 else 'MISSED'}")
        else:
            print(f"  {ours}: storm slowdown {o['slowdown']:.2f} vs libbpf-tools {t[yard]['slowdown']:.2f} "
                  f"(target: no worse): {'met' if o['slowdown'] <= t[yard]['slowdown'] * 1.02 else 'MISSED'}")


if __name__ == "__main__":
    main()
