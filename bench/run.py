#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""swift-bpf benchmark: our tracers beside C yardsticks, in one run.

Storms (bench/storm.c), each with no tracer, our tool, a C yardstick and
bpftrace on the same events, BENCH_RUNS times, interleaved, so drift hits
every row alike; the tables show medians (min-max) and ratios against the
C row of the same run, because this machine is noisy:
  mkdir    BENCH_N mkdir() of an existing directory: mkdirtrace, a minimal
           C libbpf consumer of our own probe (bench/mkdir_consumer.c)
  open     BENCH_N openat() of a missing file: opensnoop, libbpf-tools
  getppid  BENCH_N_GETPPID getppid(): syscount, libbpf-tools syscount, and
           bpftrace counting; plus bpftrace with an empty program, the
           floor any program on every syscall exit pays
  exec     BENCH_N_EXEC fork+exec of /bin/true: execsnoop, libbpf-tools
           (BENCH_EXEC_RUNS times, default 1: an exec is milliseconds here)
Then, once each:
  in-kernel cost per event of each tracer on the mkdir and open storms,
    from kernel.bpf_stats_enabled (the programs' own run time, summed over
    every run during the storm, divided by the storm's calls)
  idle wakeups of mkdirtrace and the C consumer over BENCH_IDLE_S seconds
    (context switches of all their threads), then the latency of a lone
    mkdir after that silence, to the line on their standard output (a pipe)
  a soak: BENCH_SOAK_N mkdir calls paced at BENCH_SOAK_RATE a second under
    mkdirtrace -p, with its RSS sampled every second: lost events, and the
    last minute's mean RSS against the first minute's
and prints every target of issue 13, met or missed. JSON summary in
.build/bench/summary.json.

Environment: BENCH_N (default 1000000), BENCH_N_GETPPID (2000000),
BENCH_N_EXEC (10000), BENCH_RUNS (3), BENCH_EXEC_RUNS (1), BENCH_IDLE_S (10),
BENCH_SOAK_N (10000000, 0 skips the soak), BENCH_SOAK_RATE (75000),
BENCH_BIN (our release binaries), BENCH_OBJ (mkdirtrace.bpf.o),
BENCH_BASELINE (another mkdirtrace, a row of the mkdir storm), BENCH_ONLY
(storms to run, comma-separated; the summary and targets need them all;
names that are not storms here, such as droprate, are bench/droprate.py's).
"""
import json
import os
import re
import select
import signal
import statistics
import subprocess
import sys
import tempfile
import time

N = int(os.environ.get("BENCH_N", "1000000"))
N_GETPPID = int(os.environ.get("BENCH_N_GETPPID", "2000000"))
N_EXEC = int(os.environ.get("BENCH_N_EXEC", "10000"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
EXEC_RUNS = int(os.environ.get("BENCH_EXEC_RUNS", "1"))
IDLE_S = float(os.environ.get("BENCH_IDLE_S", "10"))
SOAK_N = int(os.environ.get("BENCH_SOAK_N", "10000000"))
SOAK_RATE = int(os.environ.get("BENCH_SOAK_RATE", "75000"))
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, ".build", "bench")
BIN = os.environ.get("BENCH_BIN", os.path.join(ROOT, ".build", "release"))
OBJ = os.environ.get("BENCH_OBJ", "")
STORM = os.path.join(OUT, "storm")
CONSUMER = os.path.join(OUT, "mkdir_consumer")
# The multi-call program run as the release installs it: a link named
# after the tool.
MULTI_LINK = os.path.join(OUT, "links", "mkdirtrace")
# Another build of mkdirtrace to compare with in the same run (an earlier
# commit's, say): BENCH_BASELINE=/path/to/mkdirtrace adds its row.
BASELINE = os.environ.get("BENCH_BASELINE", "")


class Row:
    """A tracer: how to start it, how to know it attached, and how to
    count the storm's events in its output (None: it only counts)."""

    def __init__(self, name, argv, marker, stream, match=None, c=False, ours=False):
        self.name, self.argv, self.marker, self.stream = name, argv, marker, stream
        self.match, self.c, self.ours = match, c, ours


def pid_at(column):
    return lambda fields, storm: len(fields) > column and fields[column] == str(storm.pid).encode()


def comm_at(column, comm):
    return lambda fields, storm: len(fields) > column and fields[column] == comm


def storms():
    bt = lambda probe, action: ["bpftrace", "-e", 'BEGIN { printf("ready\\n"); } ' + probe + " { " + action + " }"]
    return {
        "mkdir": (N, RUNS, [
            Row("mkdirtrace (swift-bpf)", [f"{BIN}/mkdirtrace"], "Hit Ctrl-C", "err", pid_at(1), ours=True),
            Row("mkdirtrace as a link to swiftbpf", [MULTI_LINK], "Hit Ctrl-C", "err", pid_at(1), ours=True),
        ] + ([Row("mkdirtrace, baseline build", [BASELINE], "Hit Ctrl-C", "err", pid_at(1))] if BASELINE else []) + [
            Row("C libbpf consumer", [CONSUMER, OBJ], "attached", "err", pid_at(1), c=True),
            Row("bpftrace", bt("tracepoint:syscalls:sys_exit_mkdir", 'printf("%d %d\\n", pid, args->ret);'), "ready", "out", pid_at(0)),
        ]),
        "open": (N, RUNS, [
            Row("opensnoop (swift-bpf)", [f"{BIN}/opensnoop"], "Hit Ctrl-C", "err", pid_at(1), ours=True),
            Row("libbpf-tools opensnoop", ["stdbuf", "-oL", "/usr/sbin/opensnoop"], "PID", "out", pid_at(0), c=True),
            Row("bpftrace", bt("tracepoint:syscalls:sys_exit_openat", 'printf("%d %d\\n", pid, args->ret);'), "ready", "out", pid_at(0)),
        ]),
        "getppid": (N_GETPPID, RUNS, [
            Row("syscount (swift-bpf)", [f"{BIN}/syscount"], "Hit Ctrl-C", "err", ours=True),
            Row("libbpf-tools syscount", ["stdbuf", "-oL", "/usr/sbin/syscount"], "Tracing", "out", c=True),
            Row("bpftrace", bt("tracepoint:raw_syscalls:sys_exit", "@[args->id] = count();"), "ready", "out"),
            Row("bpftrace, empty program", bt("tracepoint:raw_syscalls:sys_exit", ""), "ready", "out"),
        ]),
        "exec": (N_EXEC, EXEC_RUNS, [
            Row("execsnoop (swift-bpf)", [f"{BIN}/execsnoop"], "Hit Ctrl-C", "err", comm_at(1, b"true"), ours=True),
            Row("libbpf-tools execsnoop", ["stdbuf", "-oL", "/usr/sbin/execsnoop"], "PCOMM", "out", comm_at(0, b"true"), c=True),
            Row("bpftrace", bt("tracepoint:syscalls:sys_exit_execve", 'printf("%s %d\\n", comm, args->ret);'), "ready", "out",
                comm_at(0, b"true")),
        ]),
    }


class Storm:
    def __init__(self, kind, n, workdir, rate=None):
        env = dict(os.environ)
        if rate:
            env["RATE"] = str(rate)
        self.p = subprocess.Popen([STORM, kind, str(n), workdir], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  text=True, env=env)
        line = self.p.stdout.readline().split()
        assert line and line[0] == "ready", line
        self.pid = int(line[1])

    def run(self):
        self.p.stdin.write("go\n")
        self.p.stdin.flush()
        out = self.p.stdout.read()
        self.p.wait()
        return float(re.search(r"rate (\d+)", out).group(1))


def wait_for(path, marker, timeout=60.0):
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


def count_lines(path, match, storm):
    n = 0
    with open(path, "rb") as f:
        for line in f:
            if match(line.split(), storm):
                n += 1
    return n


def lost_from(stderr_text):
    """Our tools and the C consumer end with "N events, M lost"; bpftrace
    and libbpf-tools say "Lost N events" each time it happens."""
    summary = re.findall(r"(\d+) events, (\d+) lost", stderr_text)
    if summary:
        return int(summary[-1][1])
    return sum(int(n) for n in re.findall(r"[Ll]ost (\d+) events", stderr_text))


def bpf_programs():
    out = subprocess.run(["bpftool", "prog", "show", "-j"], capture_output=True, text=True, check=True).stdout
    return {p["id"]: p for p in json.loads(out)}


class Tracer:
    """A row's tracer, started with its output in files, stopped with SIGINT."""

    def __init__(self, row, workdir):
        self.row = row
        self.out_path, self.err_path = os.path.join(workdir, "out"), os.path.join(workdir, "err")
        self.out, self.err = open(self.out_path, "wb"), open(self.err_path, "wb")
        t0 = time.monotonic()
        self.p = subprocess.Popen(row.argv, stdout=self.out, stderr=self.err, stdin=subprocess.DEVNULL)
        if not wait_for(self.err_path if row.stream == "err" else self.out_path, row.marker):
            self.p.kill()
            raise RuntimeError(f"{row.name} did not attach: {open(self.err_path).read()[-500:]}")
        self.startup = time.monotonic() - t0

    def stop(self):
        time.sleep(1.0)  # let the consumer drain
        # Anonymous memory (the heap, the ring buffer's pages are shared)
        # apart from the file-backed pages of the binary and its libraries,
        # which the peak RSS also counts.
        try:
            with open(f"/proc/{self.p.pid}/status") as f:
                self.anon_kb = next(int(l.split()[1]) for l in f if l.startswith("RssAnon"))
        except (OSError, StopIteration):
            self.anon_kb = None
        self.p.send_signal(signal.SIGINT)
        _, status, usage = os.wait4(self.p.pid, 0)
        self.p.returncode = status
        self.out.close()
        self.err.close()
        return usage


def run_once(kind, n, row, workdir):
    storm = Storm(kind, n, workdir)
    if row is None:
        return {"rate": storm.run()}
    tracer = Tracer(row, workdir)
    rate = storm.run()
    usage = tracer.stop()
    stderr_text = open(tracer.err_path, errors="replace").read()
    cpu = usage.ru_utime + usage.ru_stime
    sample = {"rate": rate, "cpu_s": cpu, "startup_ms": tracer.startup * 1000, "peak_rss_mb": usage.ru_maxrss / 1024,
              "anon_rss_mb": (tracer.anon_kb or 0) / 1024,
              "lost": lost_from(stderr_text)}
    if row.match:
        captured = count_lines(tracer.out_path, row.match, storm)
        sample.update(captured=captured, cpu_us_per_event=cpu / max(captured, 1) * 1e6)
    else:
        sample["cpu_us_per_event"] = cpu / n * 1e6
    return sample


def in_kernel_ns(kind, n, row, workdir):
    """The tracer's programs' run time during the storm, per storm call."""
    before = set(bpf_programs())
    subprocess.run(["sysctl", "-qw", "kernel.bpf_stats_enabled=1"], check=True)
    try:
        storm = Storm(kind, n, workdir)
        tracer = Tracer(row, workdir)
        ours = {i: p for i, p in bpf_programs().items() if i not in before}
        storm.run()
        after = bpf_programs()
        tracer.stop()
    finally:
        subprocess.run(["sysctl", "-qw", "kernel.bpf_stats_enabled=0"], check=True)
    run_ns = sum(after[i].get("run_time_ns", 0) - p.get("run_time_ns", 0) for i, p in ours.items() if i in after)
    runs = sum(after[i].get("run_cnt", 0) - p.get("run_cnt", 0) for i, p in ours.items() if i in after)
    return {"ns_per_call": run_ns / n, "runs": runs, "programs": sorted(p["name"] for p in ours.values())}


def thread_switches(pid):
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                for line in f:
                    if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                        total += int(line.split()[1])
        except FileNotFoundError:
            pass
    return total


def idle_and_latency(row, workdir):
    """Wakeups over IDLE_S seconds with nothing to trace, then how long a
    lone mkdir after that silence takes to reach the tool's output pipe."""
    err_path = os.path.join(workdir, "err")
    # The C consumer's printf would hold a pipe's lines in stdio's buffer.
    argv = ["stdbuf", "-oL"] + row.argv if row.c else row.argv
    with open(err_path, "wb") as err:
        p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL)
    try:
        if not wait_for(err_path, row.marker):
            raise RuntimeError(f"{row.name} did not attach")
        time.sleep(1.0)
        os.set_blocking(p.stdout.fileno(), False)
        while select.select([p.stdout], [], [], 0)[0] and p.stdout.read1(65536):
            pass  # stray events before the silence
        first = thread_switches(p.pid)
        time.sleep(IDLE_S)
        wakeups = (thread_switches(p.pid) - first) / IDLE_S
        target = os.path.join(workdir, f"lone-{os.getpid()}")
        t0 = time.monotonic()
        os.mkdir(target)
        seen, latency = b"", None
        while time.monotonic() - t0 < 5:
            if select.select([p.stdout], [], [], 0.5)[0]:
                seen += p.stdout.read1(65536) or b""
                if target.encode() in seen:
                    latency = time.monotonic() - t0
                    break
        os.rmdir(target)
        return {"idle_wakeups_per_s": wakeups, "lone_event_ms": latency * 1000 if latency is not None else None}
    finally:
        p.send_signal(signal.SIGINT)
        p.wait()


def soak(workdir):
    """SOAK_N mkdir calls under mkdirtrace -p, RSS sampled every second."""
    storm = Storm("mkdir", SOAK_N, workdir, rate=SOAK_RATE)
    err_path = os.path.join(workdir, "err")
    with open(err_path, "wb") as err, open(os.devnull, "wb") as null:
        p = subprocess.Popen([f"{BIN}/mkdirtrace", "-p", str(storm.pid)], stdout=null, stderr=err, stdin=subprocess.DEVNULL)
    if not wait_for(err_path, "Hit Ctrl-C"):
        p.kill()
        raise RuntimeError("mkdirtrace did not attach for the soak")
    samples = []
    t0 = time.monotonic()

    def sample():
        with open(f"/proc/{p.pid}/status") as f:
            rss = next(int(l.split()[1]) for l in f if l.startswith("VmRSS"))
        samples.append((time.monotonic() - t0, rss))

    storm.p.stdin.write("go\n")
    storm.p.stdin.flush()
    while storm.p.poll() is None:
        sample()
        time.sleep(1.0)
    storm.p.stdout.read()
    sample()
    time.sleep(1.0)
    p.send_signal(signal.SIGINT)
    p.wait()
    text = open(err_path, errors="replace").read()
    m = re.search(r"(\d+) events, (\d+) lost", text)
    events, lost = (int(m.group(1)), int(m.group(2))) if m else (0, -1)
    end = samples[-1][0]
    first = [r for t, r in samples if t <= 60] or [samples[0][1]]
    last = [r for t, r in samples if t >= end - 60] or [samples[-1][1]]
    return {"calls": SOAK_N, "seconds": end, "events": events, "lost": lost,
            "first_minute_rss_kb": statistics.mean(first), "last_minute_rss_kb": statistics.mean(last),
            "max_rss_kb": max(r for _, r in samples)}


def summarize(samples, key):
    values = [s[key] for s in samples if key in s]
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def main():
    if os.geteuid() != 0:
        sys.exit("bench: run as root (it loads BPF programs)")
    only = os.environ.get("BENCH_ONLY")
    if only and not set(only.split(",")) & set(storms()):
        return  # BENCH_ONLY names none of our storms (droprate is bench/droprate.py's)
    for tool in (STORM, CONSUMER) + tuple(f"{BIN}/{t}" for t in ("mkdirtrace", "opensnoop", "syscount", "execsnoop", "swiftbpf")):
        if not os.access(tool, os.X_OK):
            sys.exit(f"bench: {tool} is missing; run 'make bench'")
    os.makedirs(os.path.dirname(MULTI_LINK), exist_ok=True)
    if os.path.lexists(MULTI_LINK):
        os.remove(MULTI_LINK)
    os.symlink(f"{BIN}/swiftbpf", MULTI_LINK)
    results = {"runs": RUNS, "storms": {}}
    all_storms = storms()
    if only:
        all_storms = {k: v for k, v in all_storms.items() if k in only.split(",")}
    with tempfile.TemporaryDirectory(prefix="swiftbpf-bench.") as workdir:
        for kind, (n, runs, tracer_rows) in all_storms.items():
            rows = [None] + tracer_rows
            samples = {("no tracer" if r is None else r.name): [] for r in rows}
            for rep in range(runs):
                for row in rows:
                    name = "no tracer" if row is None else row.name
                    print(f"  {kind} storm, run {rep + 1}/{runs}: {name}", file=sys.stderr, flush=True)
                    samples[name].append(run_once(kind, n, row, workdir))
            base = statistics.median(s["rate"] for s in samples["no tracer"])
            table = {}
            for row in rows:
                name = "no tracer" if row is None else row.name
                entry = {k: summarize(samples[name], k) for k in
                         ("rate", "captured", "lost", "cpu_us_per_event", "startup_ms", "peak_rss_mb", "anon_rss_mb")}
                entry["slowdown"] = base / entry["rate"]["median"]
                entry["is_c"] = row is not None and row.c
                entry["ours"] = row is not None and row.ours
                table[name] = {k: v for k, v in entry.items() if v is not None}
            results["storms"][kind] = {"n": n, "rows": table}

        if only:
            for kind, storm in results["storms"].items():
                print(f"\n{kind}: " + ", ".join(f"{k} {v['slowdown']:.2f}x, {fmt(v.get('cpu_us_per_event'), digits=2)} us/ev, "
                                               f"start {fmt(v.get('startup_ms'), digits=1)} ms, RSS {fmt(v.get('peak_rss_mb'), digits=1)} MB, "
                                               f"anon {fmt(v.get('anon_rss_mb'), digits=2)} MB"
                                               for k, v in storm["rows"].items()))
            return
        results["in_kernel"] = {}
        for kind in ("mkdir", "open"):
            n, _, tracer_rows = all_storms[kind]
            for row in tracer_rows:
                print(f"  in-kernel cost, {kind} storm: {row.name}", file=sys.stderr, flush=True)
                results["in_kernel"].setdefault(kind, {})[row.name] = in_kernel_ns(kind, n, row, workdir)

        results["idle"] = {}
        for row in (r for r in all_storms["mkdir"][2] if r.name in ("mkdirtrace (swift-bpf)", "C libbpf consumer")):
            print(f"  idle wakeups and lone-event latency: {row.name}", file=sys.stderr, flush=True)
            results["idle"][row.name] = idle_and_latency(row, workdir)

        if SOAK_N > 0:
            print(f"  soak: {SOAK_N:,} mkdir calls at {SOAK_RATE:,}/s under mkdirtrace", file=sys.stderr, flush=True)
            results["soak"] = soak(workdir)
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


def verdict(ok):
    return "met" if ok else "MISSED"


def print_report(results):
    print(f"\nswift-bpf benchmark, {results['runs']} runs per row unless said; median (min-max)")
    for kind, storm in results["storms"].items():
        n, table = storm["n"], storm["rows"]
        c_row = next((k for k, v in table.items() if v.get("is_c")), None)
        print(f"\n{kind} storm, {n:,} calls (ratios against {c_row}):")
        print(f"{'tracer':26} {'calls/s':>27} {'slowdown':>8} {'captured %':>20} {'lost':>9} "
              f"{'CPU us/ev':>17} {'x C':>5} {'start ms':>19} {'RSS MB':>7}")
        for name, v in table.items():
            captured = fmt({k: x / n * 100 for k, x in v["captured"].items()}, digits=2) if "captured" in v else "-"
            ratio = "-"
            if c_row and "cpu_us_per_event" in v:
                ratio = f"{v['cpu_us_per_event']['median'] / table[c_row]['cpu_us_per_event']['median']:.2f}"
            rss = f"{v['peak_rss_mb']['median']:.1f}" if "peak_rss_mb" in v else "-"
            print(f"{name:26} {fmt(v['rate']):>27} {v['slowdown']:8.2f} {captured:>20} {fmt(v.get('lost')):>9} "
                  f"{fmt(v.get('cpu_us_per_event'), digits=2):>17} {ratio:>5} {fmt(v.get('startup_ms'), digits=1):>19} {rss:>7}")

    print("\nIn-kernel cost per storm call (kernel.bpf_stats_enabled, one run each):")
    for kind, rows in results["in_kernel"].items():
        for name, v in rows.items():
            print(f"  {kind:6} {name:26} {v['ns_per_call']:7.0f} ns  ({', '.join(v['programs'])}; {v['runs']:,} runs)")

    print("\nIdle, then one event (output to a pipe):")
    for name, v in results["idle"].items():
        lat = f"{v['lone_event_ms']:.1f} ms" if v["lone_event_ms"] is not None else "never"
        print(f"  {name:26} {v['idle_wakeups_per_s']:5.1f} wakeups/s idle over {IDLE_S:.0f} s; lone mkdir after the silence: {lat}")

    if "soak" in results:
        s = results["soak"]
        print(f"\nSoak: {s['calls']:,} mkdir calls in {s['seconds']:.0f} s under mkdirtrace: {s['events']:,} events, "
              f"{s['lost']:,} lost; RSS {s['first_minute_rss_kb'] / 1024:.1f} MB (first minute) -> "
              f"{s['last_minute_rss_kb'] / 1024:.1f} MB (last minute), max {s['max_rss_kb'] / 1024:.1f} MB")

    print("\nTargets (issue 13):")
    st = results["storms"]

    def row(kind, name):
        return st[kind]["rows"][name]

    for kind, ours in (("mkdir", "mkdirtrace (swift-bpf)"), ("open", "opensnoop (swift-bpf)")):
        o, n = row(kind, ours), st[kind]["n"]
        print(f"  {ours}: storm slowdown {o['slowdown']:.2f} (target <= 1.40): {verdict(o['slowdown'] <= 1.40)}")
        lost_ok = o["lost"]["max"] == 0 and o["captured"]["min"] == n
        print(f"  {ours}: every event captured ({o['captured']['min']:,} of {n:,}, {o['lost']['max']:,} lost): {verdict(lost_ok)}")
    mk = results["in_kernel"]["mkdir"]["mkdirtrace (swift-bpf)"]["ns_per_call"]
    print(f"  mkdirtrace: {mk:.0f} ns in the kernel per mkdir event (target <= 500): {verdict(mk <= 500)}")
    idle = results["idle"]["mkdirtrace (swift-bpf)"]
    lat = idle["lone_event_ms"]
    print(f"  mkdirtrace: lone event after {IDLE_S:.0f} s of silence shown in "
          f"{'never' if lat is None else f'{lat:.1f} ms'} (target <= 100 ms): {verdict(lat is not None and lat <= 100)}")
    print(f"  mkdirtrace: {idle['idle_wakeups_per_s']:.1f} wakeups/s idle (target <= 10): {verdict(idle['idle_wakeups_per_s'] <= 10)}")
    o, c = row("mkdir", "mkdirtrace (swift-bpf)"), row("mkdir", "C libbpf consumer")
    so, sc = o["startup_ms"]["median"], c["startup_ms"]["median"]
    print(f"  mkdirtrace: start-up to attached {so:.1f} ms vs the C consumer's {sc:.1f} ms (target <=): {verdict(so <= sc)}")
    ro, rc = o["peak_rss_mb"]["median"], c["peak_rss_mb"]["median"]
    print(f"  mkdirtrace: peak RSS {ro:.1f} MB = {ro / rc:.2f}x the C consumer's {rc:.1f} MB (target <= 1.5x): {verdict(ro <= 1.5 * rc)}")
    m = row("mkdir", "mkdirtrace as a link to swiftbpf")
    sm, rm = m["startup_ms"]["median"], m["peak_rss_mb"]["median"]
    print(f"  swiftbpf (every tool in one program) as mkdirtrace: start-up to attached {sm:.1f} ms vs mkdirtrace's own "
          f"{so:.1f} ms and the C consumer's {sc:.1f} ms (target <= mkdirtrace's): {verdict(sm <= so)}")
    print(f"  swiftbpf as mkdirtrace: peak RSS {rm:.1f} MB = {rm / ro:.2f}x mkdirtrace's own {ro:.1f} MB (target <= 1.10x): {verdict(rm <= 1.10 * ro)}")
    am, ao = m["anon_rss_mb"]["median"], o["anon_rss_mb"]["median"]
    print(f"  swiftbpf as mkdirtrace: anonymous RSS {am:.2f} MB vs mkdirtrace's own {ao:.2f} MB ({am / ao:.2f}x; the rest is the binary's shared file pages)")
    if BASELINE:
        bl = row("mkdir", "mkdirtrace, baseline build")
        print(f"  swiftbpf as mkdirtrace against the baseline build: start-up {sm:.1f} ms vs {bl['startup_ms']['median']:.1f} ms, "
              f"peak RSS {rm / bl['peak_rss_mb']['median']:.2f}x")
    size = os.path.getsize(f"{BIN}/swiftbpf")
    print(f"  swiftbpf: {size / 2**20:.0f} MB as built (the release strips it; scripts/release.sh reports that size)")
    s = row("getppid", "syscount (swift-bpf)")
    floor = row("getppid", "bpftrace, empty program")["slowdown"]
    print(f"  syscount: getppid storm slowdown {s['slowdown']:.2f} (target <= 1.15; an empty program on every syscall exit: "
          f"{floor:.2f}): {verdict(s['slowdown'] <= 1.15)}")
    e, ec, n = row("exec", "execsnoop (swift-bpf)"), row("exec", "libbpf-tools execsnoop"), st["exec"]["n"]
    exec_ok = e["lost"]["max"] == 0 and e["captured"]["min"] == n
    print(f"  execsnoop: every exec captured ({e['captured']['min']:,} of {n:,}, {e['lost']['max']:,} lost): {verdict(exec_ok)}")
    eo, ecc = e["cpu_us_per_event"]["median"], ec["cpu_us_per_event"]["median"]
    print(f"  execsnoop: CPU {eo:.1f} us per exec vs libbpf-tools' {ecc:.1f} us (target <=): {verdict(eo <= ecc)}")
    if "soak" in results:
        s = results["soak"]
        growth = s["last_minute_rss_kb"] / s["first_minute_rss_kb"] - 1
        print(f"  soak: {s['lost']:,} lost of {s['calls']:,} ({s['events']:,} events): {verdict(s['lost'] == 0 and s['events'] == s['calls'])}")
        print(f"  soak: RSS last minute {growth * 100:+.1f}% against the first (target within 5%): {verdict(abs(growth) <= 0.05)}")


if __name__ == "__main__":
    main()
