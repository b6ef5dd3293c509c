#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""swift-bpf benchmark: drop rate of XDP beside iptables and nftables, on a veth.

Two network namespaces of our own, a veth pair between them (10.198.0.1 ->
10.198.0.2), and one sender, bench/pktflood.c: 60-byte Ethernet/IPv4/UDP
frames (the paper's 64 bytes less the FCS a veth has none of), checksums
right, to the peer's MAC and BENCH_DROP_PORT, through an AF_PACKET socket
with PACKET_QDISC_BYPASS, sendmmsg() of 64 at a time, pinned to
BENCH_DROP_CPU, for BENCH_DROP_S seconds. What drops them, on the target
end of the veth, BENCH_DROP_RUNS rounds, interleaved:
  XDP        pktfilter run VETH --drop udp:PORT --mode native (the veth's
             own XDP, in its NAPI poll); dropped = pktfilter stats
  iptables   iptables -t raw -A PREROUTING -p udp --dport PORT -j DROP
             (the nf_tables backend, Debian's default); dropped = the
             rule's counter (-L -v -x -n)
  nftables   a netdev-family ingress chain on the veth, udp dport PORT
             counter drop; dropped = that counter
  no filter  the closed UDP port: the stack routes the packet, finds no
             socket and drops it, attempting a rate-limited ICMP port
             unreachable each time; dropped = UdpNoPorts (/proc/net/snmp)
Each run: packets sent, packets the mechanism dropped (its own counter),
and the CPU time of both CPUs over the run (/proc/stat, user + system +
softirq + irq, per CPU): drops per second, and drops per CPU-second, that
is packets per second per core. Ratios are against iptables raw in the same
round. As a cross-check against other load on the machine (a compiler on
the other CPU shows up in /proc/stat), the CPU time of the sender itself and
of the ksoftirqd threads, which is where all of this work runs; and where it
runs: how much of that time per packet the tick found in softirq (the
receive side), and the NET_RX softirqs on each CPU (/proc/softirqs). If perf is installed, one
more short run per mechanism under `perf record -a -g` gives the inclusive
share of the functions that say where the time goes (BENCH_DROP_PERF=0
skips it). JSON in .build/bench/droprate.json.

What limits the sender. A veth has no wire and no receive interrupt:
sendmmsg() allocates an skb per frame and copies the frame into it
(packet_snd), the veth's xmit hands it to the peer (the per-CPU backlog
without XDP; the peer's ptr_ring and NAPI with XDP), and the softirq that
receives it runs right there, on the sender's CPU, when the xmit path
re-enables bottom halves. One core does everything, one packet after the
other: the syscall, the skb, the xmit and the whole receive side. So the
sender never outruns the receiver (no send is refused, ksoftirqd stays
idle, the other CPU's NET_RX count barely moves), it runs at 1.00 CPU, and
its rate is 1 / (sender cost + receive cost) on that core: drops per second
and drops per CPU-second are the same number. The sender's own part is
paid alike under every mechanism. Measured on this 2-core VM (kernel 6.18,
5 s x 3): 840-900 ns per packet outside softirq (the syscall, the skb
allocation and copy, the veth's xmit) under the three filters, against
490-750 ns of softirq; under iptables raw perf puts 40% of the sender's
syscall time outside __dev_direct_xmit (which holds the xmit and the
softirq), so the sender alone would top out near 1.8 Mpps on this core. Batches of 64 amortize the syscall (batch 1:
about 15% slower; 256: no faster). PACKET_TX_RING is about 20% slower here:
its skbs carry the frame in page fragments of the ring, which the receive
side must pull (ip_rcv) and release. PACKET_QDISC_BYPASS changes nothing
measurable on a veth, whose default qdisc is noqueue anyway.

Why XDP does not win here. On a NIC the XDP program runs on the DMA'd
buffer before any skb exists, and a drop recycles the page: that is where
the paper's 24 Mpps against 4.8 comes from. On a veth the skb exists before
XDP runs, and the veth copies it once more: an AF_PACKET skb's head is
kmalloc'ed, not a page fragment, with only the device's link-layer reserve
as headroom (16 bytes on a veth), not the 256 XDP wants, so
veth_convert_skb_to_xdp_buff() copies every frame into a page_pool page
(skb_pp_cow_data) before the program sees it. What XDP could save is only
what follows the skb: the backlog, ip_rcv's checks, the netfilter hook; an
nftables ingress chain and iptables raw drop early enough that little is
left. Measured here: XDP drops at 0.82x iptables raw per CPU-second
(604,000 against 721,000 a second), nftables ingress at 1.03x, the closed
port at 0.46x; in the sender's perf profile the copy is 15% and pktfilter's
program 14%, against 9% for iptables-nft's rule and 18% for ip_rcv.

Environment: BENCH_DROP_S (5), BENCH_DROP_RUNS (3), BENCH_DROP_CPU (the
sender's CPU, 0), BENCH_DROP_PORT (9999), BENCH_DROP_METHOD (mmsg or ring:
PACKET_TX_RING, slower here), BENCH_DROP_PERF (1: profile if perf exists),
BENCH_DROP_MECHS (which to run: xdp,iptables,nftables,none),
BENCH_BIN (pktfilter is $BENCH_BIN/pktfilter, .build/release by default;
if that is missing, .build/debug/pktfilter, whose XDP program is the same),
BENCH_ONLY (runs only if it names droprate). Root.
"""
import atexit
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, ".build", "bench")
SECONDS = float(os.environ.get("BENCH_DROP_S", "5"))
RUNS = int(os.environ.get("BENCH_DROP_RUNS", "3"))
CPU = int(os.environ.get("BENCH_DROP_CPU", "0"))
PORT = int(os.environ.get("BENCH_DROP_PORT", "9999"))
METHOD = os.environ.get("BENCH_DROP_METHOD", "mmsg")
PERF = os.environ.get("BENCH_DROP_PERF", "1") != "0"
MECHS = os.environ.get("BENCH_DROP_MECHS", "xdp,iptables,nftables,none").split(",")
BIN = os.environ.get("BENCH_BIN", os.path.join(ROOT, ".build", "release"))
FLOOD = os.path.join(OUT, "pktflood")
FLOOD_SRC = os.path.join(ROOT, "bench", "pktflood.c")

TAG = f"swbpf-drop-{os.getpid()}"
SRC_NS, DST_NS = f"{TAG}-src", f"{TAG}-dst"
SRC_IF, DST_IF = "sbdrop0", "sbdrop1"
SRC_IP, DST_IP = "10.198.0.1", "10.198.0.2"
NFT_TABLE = "swbpf_droprate"
USER_HZ = os.sysconf("SC_CLK_TCK")


def sh(*argv, check=True, ns=None):
    if ns:
        argv = ("ip", "netns", "exec", ns) + argv
    r = subprocess.run(argv, capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: exit {r.returncode}: {r.stderr.strip()[-400:]}")
    return r.stdout


# --- the two namespaces and their veth ---------------------------------------

class Pair:
    """SRC_NS --veth-- DST_NS, created once for the whole run; removing the
    namespaces removes the veth and every rule and program on it."""

    def __init__(self):
        self.made = []
        for ns in (SRC_NS, DST_NS):
            sh("ip", "netns", "add", ns)
            self.made.append(ns)
        sh("ip", "link", "add", SRC_IF, "netns", SRC_NS, "type", "veth", "peer", "name", DST_IF, "netns", DST_NS)
        for ns, dev, ip in ((SRC_NS, SRC_IF, SRC_IP), (DST_NS, DST_IF, DST_IP)):
            # No IPv6 on the pair: no router solicitations or MLD reports
            # to count beside the flood.
            sh("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1", ns=ns)
            sh("ip", "-n", ns, "addr", "add", f"{ip}/24", "dev", dev)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
            sh("ip", "-n", ns, "link", "set", dev, "up")
        self.dst_mac = json.loads(sh("ip", "-n", DST_NS, "-j", "link", "show", DST_IF))[0]["address"]

    def remove(self):
        for ns in reversed(self.made):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        self.made = []

    def assert_clean(self):
        """Nothing left from the previous run: no XDP program, no table."""
        link = json.loads(sh("ip", "-n", DST_NS, "-j", "link", "show", DST_IF))[0]
        if "xdp" in link:
            raise RuntimeError(f"an XDP program is still on {DST_IF}")
        ruleset = sh("nft", "list", "ruleset", ns=DST_NS).strip()
        if ruleset:
            raise RuntimeError(f"nftables ruleset left in {DST_NS}:\n{ruleset}")


# --- what drops the flood ------------------------------------------------------

class Mechanism:
    name = key = ""

    def setup(self):
        pass

    def dropped(self):
        raise NotImplementedError

    def teardown(self):
        pass

    def extra(self):
        return {}


class XDP(Mechanism):
    key, name = "xdp", "XDP (pktfilter, native)"

    def __init__(self, pktfilter):
        self.pktfilter, self.p, self.err = pktfilter, None, None

    def setup(self):
        self.err = open(os.path.join(OUT, "droprate-pktfilter.err"), "w+b")
        self.p = subprocess.Popen(["ip", "netns", "exec", DST_NS, self.pktfilter, "run", DST_IF, "--drop", f"udp:{PORT}",
                                   "--mode", "native"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self.err)
        end = time.monotonic() + 30
        while time.monotonic() < end:
            self.err.seek(0)
            text = self.err.read().decode(errors="replace")
            if "Hit Ctrl-C to end" in text:
                return
            if self.p.poll() is not None:
                raise RuntimeError(f"pktfilter run exited {self.p.returncode}: {text.strip()[-400:]}")
            time.sleep(0.01)
        raise RuntimeError("pktfilter run did not attach within 30 s")

    def totals(self):
        line = sh(self.pktfilter, "stats", "-i", DST_IF, ns=DST_NS)
        return {k: int(v) for k, v in re.findall(r"\b(passed|dropped|malformed) (\d+)", line)}

    def dropped(self):
        return self.totals()["dropped"]

    def teardown(self):
        if self.p and self.p.poll() is None:
            self.p.send_signal(signal.SIGINT)
            try:
                self.p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.p = None
        if self.err:
            self.err.close()
            self.err = None


class IptablesRaw(Mechanism):
    key, name = "iptables", "iptables raw PREROUTING"
    RULE = ["PREROUTING", "-p", "udp", "--dport", str(PORT), "-j", "DROP"]

    def setup(self):
        sh("iptables", "-w", "-t", "raw", "-A", *self.RULE, ns=DST_NS)

    def dropped(self):
        out = sh("iptables", "-w", "-t", "raw", "-L", "PREROUTING", "-v", "-x", "-n", ns=DST_NS)
        rows = [l.split() for l in out.splitlines() if f"dpt:{PORT}" in l]
        return int(rows[0][0])

    def teardown(self):
        sh("iptables", "-w", "-t", "raw", "-D", *self.RULE, ns=DST_NS, check=False)
        # iptables-nft leaves its raw table and base chain behind: an empty
        # chain still hooks every packet, so it goes too.
        sh("nft", "delete", "table", "ip", "raw", ns=DST_NS, check=False)


class NftIngress(Mechanism):
    key, name = "nftables", "nftables netdev ingress"

    def setup(self):
        ruleset = (f"table netdev {NFT_TABLE} {{\n"
                   f"  chain ingress {{\n"
                   f"    type filter hook ingress device \"{DST_IF}\" priority 0; policy accept;\n"
                   f"    udp dport {PORT} counter drop\n"
                   f"  }}\n}}\n")
        r = subprocess.run(["ip", "netns", "exec", DST_NS, "nft", "-f", "-"], input=ruleset, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"nft -f: {r.stderr.strip()}")

    def dropped(self):
        out = json.loads(sh("nft", "-j", "list", "table", "netdev", NFT_TABLE, ns=DST_NS))
        for item in out["nftables"]:
            for expr in item.get("rule", {}).get("expr", []):
                if "counter" in expr:
                    return int(expr["counter"]["packets"])
        raise RuntimeError("no counter in the nftables rule")

    def teardown(self):
        sh("nft", "delete", "table", "netdev", NFT_TABLE, ns=DST_NS, check=False)


def snmp(ns):
    """/proc/net/snmp of a namespace, as {"Udp": {"NoPorts": n, ...}, ...}."""
    lines = sh("cat", "/proc/net/snmp", ns=ns).splitlines()
    out = {}
    for head, vals in zip(lines[0::2], lines[1::2]):
        proto, names = head.split(":", 1)
        out[proto] = dict(zip(names.split(), (int(v) for v in vals.split(":", 1)[1].split())))
    return out


class NoFilter(Mechanism):
    key, name = "none", "no filter (closed UDP port)"

    def setup(self):
        self.icmp = snmp(DST_NS)["Icmp"]["OutDestUnreachs"]

    def dropped(self):
        return snmp(DST_NS)["Udp"]["NoPorts"]

    def extra(self):
        return {"icmp_unreachable_sent": snmp(DST_NS)["Icmp"]["OutDestUnreachs"] - self.icmp}


# --- CPU time -------------------------------------------------------------------

STAT_FIELDS = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")


def proc_stat():
    cpus = {}
    with open("/proc/stat") as f:
        for line in f:
            m = re.match(r"cpu(\d+) (.*)", line)
            if m:
                cpus[int(m.group(1))] = dict(zip(STAT_FIELDS, (int(v) for v in m.group(2).split())))
    return cpus


def net_rx():
    with open("/proc/softirqs") as f:
        for line in f:
            if line.strip().startswith("NET_RX:"):
                return [int(v) for v in line.split()[1:]]
    return []


def ksoftirqd_pids():
    pids = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/comm") as f:
                    if f.read().startswith("ksoftirqd/"):
                        pids.append(int(pid))
            except OSError:
                pass
    return pids


def task_cpu_s(pids):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except OSError:
            pass
    return total / USER_HZ


def busy(delta):
    """user + system + softirq + irq: the brief's busy time."""
    return delta["user"] + delta["system"] + delta["softirq"] + delta["irq"]


def background_load(seconds=1.0):
    a = proc_stat()
    time.sleep(seconds)
    b = proc_stat()
    return sum(busy({k: b[c][k] - a[c][k] for k in STAT_FIELDS}) for c in b) / USER_HZ / seconds


# --- one run --------------------------------------------------------------------

def flood_argv(seconds):
    return [FLOOD, "--netns", f"/run/netns/{SRC_NS}", "--iface", SRC_IF, "--dst-mac", PAIR.dst_mac, "--src", SRC_IP,
            "--dst", DST_IP, "--dport", str(PORT), "--seconds", str(seconds), "--cpu", str(CPU), "--method", METHOD]


def run_once(mech, ksoft):
    PAIR.assert_clean()
    try:
        mech.setup()
        time.sleep(0.2)  # let the attach or the ruleset settle
        first = mech.dropped()
        s0, r0, k0 = proc_stat(), net_rx(), task_cpu_s(ksoft)
        p = subprocess.run(flood_argv(SECONDS), capture_output=True, text=True)
        s1, r1, k1 = proc_stat(), net_rx(), task_cpu_s(ksoft)
        if p.returncode != 0:
            raise RuntimeError(f"pktflood: {p.stderr.strip()}")
        flood = json.loads(p.stdout)
        dropped = mech.dropped() - first
        extra = mech.extra()
    finally:
        mech.teardown()
    per_cpu = {c: {k: (s1[c][k] - s0[c][k]) / USER_HZ for k in STAT_FIELDS} for c in s1}
    cpu_s = sum(busy(d) for d in per_cpu.values())
    sender_s = flood["utime_s"] + flood["stime_s"]
    task_s = sender_s + k1 - k0
    softirq_s = sum(d["softirq"] for d in per_cpu.values())
    secs, n = flood["seconds"], max(dropped, 1)
    sample = {
        "sent": flood["sent"], "failed": flood["failed"], "seconds": secs, "dropped": dropped,
        "sent_pps": flood["sent"] / secs, "drop_pps": dropped / secs, "dropped_pct": 100.0 * dropped / max(flood["sent"], 1),
        "cpu_s": cpu_s, "drops_per_cpu_s": dropped / cpu_s if cpu_s else 0.0,
        "sender_cpu_s": sender_s, "ksoftirqd_cpu_s": k1 - k0, "task_cpu_s": task_s,
        "drops_per_task_cpu_s": dropped / task_s if task_s else 0.0,
        # Per packet, from the tasks' time (immune to other load): all of
        # it, and the part the tick found in softirq, the receive side.
        "ns_per_drop": task_s / n * 1e9, "softirq_ns_per_drop": softirq_s / n * 1e9,
        "softirq_share_pct": 100.0 * softirq_s / task_s if task_s else 0.0,
        "per_cpu": {str(c): {k: round(v, 2) for k, v in d.items() if k != "idle"} for c, d in per_cpu.items()},
        "net_rx": [b - a for a, b in zip(r0, r1)],
    }
    sample.update(extra)
    return sample


# --- perf: where the time goes ------------------------------------------------------

PERF_SYMBOLS = [
    ("syscall (sendmmsg, all of it)", "__sys_sendmmsg"),
    ("packet_sendmsg", "packet_sendmsg"),
    ("  skb alloc (sock_alloc_send_pskb)", "sock_alloc_send_pskb"),
    ("  dev xmit + receive (__dev_direct_xmit)", "__dev_direct_xmit"),
    ("    veth_xmit", "veth_xmit"),
    ("    softirq (handle_softirqs)", "handle_softirqs"),
    ("      veth NAPI poll (veth_poll)", "veth_poll"),
    ("        copy to page_pool (skb_pp_cow_data)", "skb_pp_cow_data"),
    ("        XDP program", "bpf_prog_"),
    ("      backlog (process_backlog)", "process_backlog"),
    ("        nftables chain (nft_do_chain)", "nft_do_chain"),
    ("        ip_rcv", "ip_rcv"),
    ("        __udp4_lib_rcv", "__udp4_lib_rcv"),
    ("          __icmp_send", "__icmp_send"),
]


def perf_profile(mech, seconds=2.0):
    """Inclusive share of the sender's samples in each function above."""
    data = os.path.join(OUT, f"droprate-perf-{mech.key}.data")
    PAIR.assert_clean()
    flood = None
    try:
        mech.setup()
        time.sleep(0.2)
        flood = subprocess.Popen(flood_argv(seconds + 1.0), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        subprocess.run(["perf", "record", "-q", "-o", data, "-a", "-g", "-e", "cpu-clock", "-F", "999", "--",
                        "sleep", str(seconds)], capture_output=True)
        flood.wait()
    finally:
        if flood and flood.poll() is None:
            flood.kill()
            flood.wait()
        mech.teardown()
    rep = subprocess.run(["perf", "report", "-i", data, "--comm", "pktflood", "--children", "--sort", "sym", "--stdio",
                          "-g", "none", "--percent-limit", "0"], capture_output=True, text=True)
    os.unlink(data)
    shares = {}
    for line in rep.stdout.splitlines():
        m = re.match(r"\s+([\d.]+)%\s+[\d.]+%\s+\[k\]\s+(\S+)", line)
        if not m:
            continue
        children, sym = float(m.group(1)), m.group(2)
        for label, name in PERF_SYMBOLS:
            # bpf_prog_<tag>_<name>: the program and its subprograms (the
            # rule scan under bpf_loop), nested, so the outermost one.
            if sym == name or (name.endswith("_") and sym.startswith(name)):
                shares[label] = max(shares.get(label, 0.0), children)
    top = shares.get(PERF_SYMBOLS[0][0], 0.0)
    return {label: round(100.0 * v / top, 1) for label, v in shares.items()} if top else {}


# --- report ---------------------------------------------------------------------------

def summarize(values):
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def fmt(stat, scale=1.0, digits=0):
    if not stat:
        return "-"
    m, lo, hi = stat["median"] * scale, stat["min"] * scale, stat["max"] * scale
    return f"{m:,.{digits}f} ({lo:,.{digits}f}-{hi:,.{digits}f})"


def ratio(r, key):
    return f"{r[key]['median']:5.2f}" if key in r else "    -"


def print_report(res):
    rows, flood = res["rows"], res["sender"]
    base = "iptables" in rows
    print(f"\nDrop rate on a veth pair: {flood['frame_bytes']}-byte UDP frames from one AF_PACKET sender "
          f"({res['method']}, batch {flood['batch']}, PACKET_QDISC_BYPASS) pinned to CPU {CPU}; {SECONDS:g} s x {RUNS} runs, "
          f"interleaved; median (min-max)" + ("; ratios against iptables raw in the same round" if base else ""))
    print(f"{'mechanism':30} {'sent/s':>25} {'dropped/s':>25} {'x ipt':>5} {'drops/CPU-s (/proc/stat)':>25} "
          f"{'x ipt':>5} {'drops/CPU-s (tasks)':>25} {'x ipt':>5} {'ns/drop':>7} {'softirq':>7} {'dropped':>7}")
    for key, r in rows.items():
        print(f"{r['name']:30} {fmt(r['sent_pps']):>25} {fmt(r['drop_pps']):>25} {ratio(r, 'ratio_drop_pps')} "
              f"{fmt(r['drops_per_cpu_s']):>25} {ratio(r, 'ratio_drops_per_cpu_s')} "
              f"{fmt(r['drops_per_task_cpu_s']):>25} {ratio(r, 'ratio_drops_per_task_cpu_s')} "
              f"{r['ns_per_drop']['median']:7,.0f} {r['softirq_ns_per_drop']['median']:7,.0f} {r['dropped_pct']['median']:6.1f}%")
    if base:
        print("\n  x ipt: ratio to iptables raw in the same round, median (min-max):")
        for key, r in rows.items():
            if key != "iptables":
                print(f"    {r['name']:30} drops/s {fmt(r['ratio_drop_pps'], digits=2)}, drops/CPU-s "
                      f"{fmt(r['ratio_drops_per_cpu_s'], digits=2)} (/proc/stat), {fmt(r['ratio_drops_per_task_cpu_s'], digits=2)} (tasks)")
    print("  drops/CPU-s (/proc/stat): user+system+softirq+irq of both CPUs over the run. (tasks): the sender's own CPU")
    print("  time plus the ksoftirqd threads', where all of this work runs, so other load on the machine does not count.")
    print("  ns/drop: that CPU time per dropped packet; softirq: the part of it the tick found in softirq (/proc/stat),")
    print("  the receive side; the rest is the sender's syscall, skb and the veth's xmit. dropped: the mechanism's")
    print("  own counter over the packets sent.")
    bg = res["background_cpus"]
    print(f"  Background load before the runs: {bg:.2f} CPUs busy" + (
        ": the /proc/stat column counts that load too; read the tasks column." if bg > 0.1 else "."))
    if "none" in rows:
        print(f"  no filter: {rows['none']['icmp_per_run']:,} ICMP port unreachables sent per run (rate-limited); every "
              f"packet still routed, looked up and answered as far as the limit.")
    print("\n  Where the work runs: NET_RX softirqs per CPU per run (median), and the sender's CPU time:")
    for key, r in rows.items():
        print(f"    {r['name']:30} " + ", ".join(f"CPU{c} {v:>10,.0f}" for c, v in enumerate(r["net_rx_median"]))
              + f"; sender {r['sender_cpu_s']['median'] / SECONDS:.2f} CPU, ksoftirqd {r['ksoftirqd_cpu_s']['median']:.2f} s")
    print(f"  Sends refused (ENOBUFS) over all runs: {sum(r['failed_total'] for r in rows.values()):,}.")
    if res.get("perf"):
        print("\n  perf record -a -g, one 2 s run each: inclusive share of the sender's samples (its syscall = 100%):")
        keys = list(res["perf"])
        print(f"    {'':44}" + "".join(f"{rows[k]['name'].split(' (')[0][:12]:>13}" for k in keys))
        for label, _ in PERF_SYMBOLS:
            vals = [res["perf"][k].get(label) for k in keys]
            if any(vals):
                print(f"    {label:44}" + "".join(f"{(f'{v:.1f}%' if v else '-'):>13}" for v in vals))


def main():
    only = os.environ.get("BENCH_ONLY")
    if only and "droprate" not in only.split(","):
        return
    if os.geteuid() != 0:
        sys.exit("droprate: run as root (namespaces, XDP, netfilter)")
    pktfilter = os.path.join(BIN, "pktfilter")
    if not os.access(pktfilter, os.X_OK):
        fallback = os.path.join(ROOT, ".build", "debug", "pktfilter")
        if not os.access(fallback, os.X_OK):
            sys.exit(f"droprate: neither {pktfilter} nor {fallback} exists; run 'make bench'")
        print(f"droprate: {pktfilter} is missing; using {fallback} (its XDP program is the same)", file=sys.stderr)
        pktfilter = fallback
    for tool in ("ip", "iptables", "nft"):
        if not shutil.which(tool):
            sys.exit(f"droprate: {tool} is missing (apt-get install iproute2 iptables nftables)")
    os.makedirs(OUT, exist_ok=True)
    if not os.access(FLOOD, os.X_OK) or os.path.getmtime(FLOOD) < os.path.getmtime(FLOOD_SRC):
        print(f"droprate: cc -O2 -Wall -o {FLOOD} {FLOOD_SRC}", file=sys.stderr)
        subprocess.run(["cc", "-O2", "-Wall", "-o", FLOOD, FLOOD_SRC], check=True)
    if CPU >= os.cpu_count():
        sys.exit(f"droprate: BENCH_DROP_CPU={CPU}, but there are {os.cpu_count()} CPUs")

    iptables_version = sh("iptables", "-V").strip()
    # Only the version: listing a legacy table would create it, hooks and all.
    legacy = shutil.which("iptables-legacy")
    legacy_version = sh("iptables-legacy", "-V").strip() if legacy else None

    global PAIR
    PAIR = None

    def cleanup():
        if PAIR:
            PAIR.remove()

    atexit.register(cleanup)
    # SIGTERM and SIGHUP unwind like Ctrl-C, through the finally blocks.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *_: sys.exit(130))

    mechs = [m for m in (XDP(pktfilter), IptablesRaw(), NftIngress(), NoFilter()) if m.key in MECHS]
    samples = {m.key: [] for m in mechs}
    try:
        PAIR = Pair()
        ksoft = ksoftirqd_pids()
        background = background_load()
        # A short warm-up: the first packets fill caches and the neighbour
        # tables of the freshly made namespaces.
        subprocess.run(flood_argv(0.5), capture_output=True, check=True)
        flood_info = None
        for rnd in range(RUNS):
            for m in mechs:
                print(f"  drop rate, run {rnd + 1}/{RUNS}: {m.name}", file=sys.stderr, flush=True)
                s = run_once(m, ksoft)
                samples[m.key].append(s)
        flood_info = json.loads(subprocess.run(flood_argv(0.1), capture_output=True, text=True, check=True).stdout)
        profiles = {}
        if PERF and shutil.which("perf"):
            for m in mechs:
                print(f"  drop rate, perf profile: {m.name}", file=sys.stderr, flush=True)
                profiles[m.key] = perf_profile(m)
    finally:
        for m in mechs:
            if isinstance(m, XDP) and m.p:
                m.teardown()
        cleanup()
        PAIR = None

    rows = {}
    for m in mechs:
        ss = samples[m.key]
        row = {"name": m.name}
        for k in ("sent_pps", "drop_pps", "dropped_pct", "cpu_s", "drops_per_cpu_s", "drops_per_task_cpu_s",
                  "sender_cpu_s", "ksoftirqd_cpu_s", "task_cpu_s", "ns_per_drop", "softirq_ns_per_drop",
                  "softirq_share_pct"):
            row[k] = summarize([s[k] for s in ss])
        for k in ("drop_pps", "drops_per_cpu_s", "drops_per_task_cpu_s") if "iptables" in samples else ():
            row[f"ratio_{k}"] = summarize([s[k] / i[k] if i[k] else 0.0 for s, i in zip(ss, samples["iptables"])])
        row["net_rx_median"] = [statistics.median(col) for col in zip(*(s["net_rx"] for s in ss))]
        row["failed_total"] = sum(s["failed"] for s in ss)
        if m.key == "none":
            row["icmp_per_run"] = int(statistics.median(s["icmp_unreachable_sent"] for s in ss))
        row["runs"] = ss
        rows[m.key] = row
    results = {"seconds": SECONDS, "runs": RUNS, "sender_cpu": CPU, "port": PORT, "method": METHOD,
               "sender": {k: flood_info[k] for k in ("frame_bytes", "batch", "qdisc_bypass")},
               "pktfilter": pktfilter, "iptables": iptables_version, "iptables_legacy": legacy_version,
               "kernel": os.uname().release, "cpus": os.cpu_count(), "background_cpus": background,
               "rows": rows, "perf": profiles}
    print_report(results)
    with open(os.path.join(OUT, "droprate.json"), "w") as f:
        json.dump(results, f, indent=2)
    print(f"\nJSON: {os.path.join(OUT, 'droprate.json')}")


PAIR = None

if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)
    except (RuntimeError, subprocess.CalledProcessError) as e:
        sys.exit(f"droprate: {e}")
