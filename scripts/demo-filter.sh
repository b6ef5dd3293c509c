#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The packet filter demo, as a person would run it in two terminals, on two
# "machines" made here: network namespaces `source` and `target` joined by a
# veth pair (10.199.0.1 and 10.199.0.2; no other address is contacted). The
# target runs a real sshd (port 22, throwaway keys) and an HTTP server (port
# 8080). Terminal 1 runs `pktfilter run` on the target's interface, dropping
# ICMP and TCP port 22; terminal 2, on the source, tries ping, SSH and HTTP
# before, during and after: the filter is stopped once with Ctrl-C and once
# with SIGKILL, and traffic flows again both times.
#
# Root. `make demo-filter` installs what it needs, builds pktfilter and runs
# it. PKTFILTER=path picks the binary (default: `swift build
# --show-bin-path`/pktfilter). Pauses between steps when standard input is a
# terminal; DEMO_AUTO=1 runs straight through.
#
# Every check prints `STEP <name>: ok` or `STEP <name>: FAILED (<what>)`.
# Exit status: 0 if every step is ok, 1 if one failed, 2 if it cannot run
# (not root, or a tool missing). Everything it made is removed on exit.
set -u

SRC_NS="swbpf-demo-src-$$"
TGT_NS="swbpf-demo-tgt-$$"
SRC_IF="swbds$$"                # veth names: at most 15 characters
TGT_IF="swbdt$$"
SRC_ADDR=10.199.0.1
TGT_ADDR=10.199.0.2

die() { echo "demo-filter: $*" >&2; exit 2; }

[ "$(id -u)" = 0 ] || die "must run as root (it makes network namespaces and loads an XDP program)"
for tool in ip ping ssh ssh-keygen curl ss timeout; do
    command -v "$tool" >/dev/null 2>&1 || die "missing tool: $tool (make demo-filter installs it)"
done
[ -x /usr/sbin/sshd ] || die "missing tool: /usr/sbin/sshd (apt-get install openssh-server)"
if [ -x /usr/bin/python3 ]; then PYTHON=/usr/bin/python3; else PYTHON=$(command -v python3) || die "missing tool: python3"; fi
if [ -z "${PKTFILTER:-}" ]; then
    command -v swift >/dev/null 2>&1 || die "missing tool: swift (or set PKTFILTER to the pktfilter binary)"
    PKTFILTER="$(cd "$(dirname "$0")/.." && swift build --show-bin-path)/pktfilter"
fi
[ -x "$PKTFILTER" ] || die "missing tool: pktfilter ($PKTFILTER; 'swift build --product pktfilter' makes it)"

if [ "${DEMO_AUTO:-0}" != 1 ] && [ -t 0 ]; then INTERACTIVE=1; else INTERACTIVE=0; fi

WORK=""
MADE_RUN_SSHD=0
FILTER_PID=""
SSHD_PID=""
HTTP_PID=""
FAILED=0
declare -a STEPS_FAILED=()

# --- cleanup: every process started here, the namespaces, the files --------

stop_pid() {   # stop_pid PID [SIG]: SIG (default TERM), KILL after 2 s; reaped
    local pid=$1 sig=${2:-TERM} i
    [ -n "$pid" ] || return 0
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
    kill -"$sig" "$pid" 2>/dev/null
    for i in $(seq 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 0
}

cleanup() {
    local status=$? ns pid i
    trap - EXIT INT TERM HUP
    stop_pid "$FILTER_PID" INT
    stop_pid "$HTTP_PID"
    stop_pid "$SSHD_PID"
    # Anything else still running in the two namespaces (sshd's session
    # children, a stray command): only processes of these namespaces.
    for ns in "$SRC_NS" "$TGT_NS"; do
        [ -e "/run/netns/$ns" ] || continue
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -TERM "$pid" 2>/dev/null; done
        for i in $(seq 20); do [ -z "$(ip netns pids "$ns" 2>/dev/null)" ] && break; sleep 0.1; done
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
        ip netns del "$ns" 2>/dev/null
    done
    ip link del "$SRC_IF" 2>/dev/null   # only if it never left this namespace
    [ -n "$WORK" ] && rm -rf "$WORK"
    [ "$MADE_RUN_SSHD" = 1 ] && rmdir /run/sshd 2>/dev/null
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# --- printing what the two terminals show -----------------------------------

T1="[terminal 1: filter, on target]"
T2="[terminal 2: source]"

banner() { printf '\n=== %s ===\n' "$*"; }
note() { printf '    (%s)\n' "$*"; }

pause() {
    [ "$INTERACTIVE" = 1 ] || return 0
    read -r -p "Press Enter for the next step " _ || true
}

step() {   # step NAME ok | step NAME FAILED WHAT
    if [ "$2" = ok ]; then
        echo "STEP $1: ok"
    else
        echo "STEP $1: FAILED ($3)"
        FAILED=1
        STEPS_FAILED+=("$1")
    fi
}

# A command line as a person would type it: arguments with characters the
# shell treats specially in single quotes.
typed() {
    local arg line=""
    for arg in "$@"; do
        case $arg in
            *[!A-Za-z0-9_./:=@%+,-]*|'') line+=" '$arg'" ;;
            *) line+=" $arg" ;;
        esac
    done
    printf '%s' "${line# }"
}

# Runs a command in the source namespace, shown as typed in terminal 2;
# sets OUT (stdout and stderr together) and RC. Standard input is never the
# terminal: `timeout` runs the command in a process group of its own, where
# reading the terminal (ssh would) stops it.
on_source() {
    echo "$T2 \$ $(typed "$@")"
    OUT=$(timeout 60 ip netns exec "$SRC_NS" "$@" 2>&1 < /dev/null)
    RC=$?
    [ -n "$OUT" ] && printf '%s\n' "$OUT"
    return 0
}

# pktfilter commands other than `run`, in the target: shown in terminal 1.
on_target_pktfilter() {
    echo "$T1 # pktfilter $*"
    OUT=$(timeout 60 ip netns exec "$TGT_NS" "$PKTFILTER" "$@" 2>&1 < /dev/null)
    RC=$?
    [ -n "$OUT" ] && printf '%s\n' "$OUT"
    return 0
}

SSH_CMD=(ssh -i "__KEY__" -o BatchMode=yes -o IdentitiesOnly=yes -o StrictHostKeyChecking=no
         -o UserKnownHostsFile=/dev/null -o ConnectTimeout=__TIMEOUT__ "root@$TGT_ADDR" echo hello-from-target)

# Waits are short where a drop is expected and generous where an answer is
# (a slow machine, or the kernel lane's emulated one, answers late).
check_ping() {   # check_ping NAME expect(pass|drop)
    if [ "$2" = pass ]; then on_source ping -c 2 -W 10 "$TGT_ADDR"; else on_source ping -c 2 -W 1 "$TGT_ADDR"; fi
    local received
    received=$(printf '%s\n' "$OUT" | sed -n 's/.* \([0-9]\+\) received.*/\1/p')
    if [ "$2" = pass ]; then
        if [ "$RC" = 0 ] && [ "${received:-0}" -ge 1 ]; then step "$1" ok
        else step "$1" FAILED "ping got no answer: exit $RC, ${received:-no} replies"; fi
    else
        if [ "$RC" != 0 ] && [ "${received:-x}" = 0 ]; then step "$1" ok
        else step "$1" FAILED "ping was answered while ICMP should be dropped: exit $RC, ${received:-no} replies"; fi
    fi
}

check_ssh() {   # check_ssh NAME expect(pass|drop)
    local cmd=("${SSH_CMD[@]/__KEY__/$WORK/client_key}")
    if [ "$2" = pass ]; then cmd=("${cmd[@]/__TIMEOUT__/30}"); else cmd=("${cmd[@]/__TIMEOUT__/3}"); fi
    on_source "${cmd[@]}"
    if [ "$2" = pass ]; then
        if [ "$RC" = 0 ] && printf '%s\n' "$OUT" | grep -qx hello-from-target; then step "$1" ok
        elif printf '%s\n' "$OUT" | grep -q "Permission denied (publickey)"; then
            # sshd answered and refused the login (root's account is locked
            # on some machines, as in the kernel lane's guest): the
            # connection, which is what the filter decides, was made.
            note "sshd refused the login: $(tail -n 2 "$WORK/sshd.log" | head -n 1); the connection itself was made"
            step "$1" ok
        else
            step "$1" FAILED "ssh exit $RC, no hello-from-target; sshd said: $(tail -n 3 "$WORK/sshd.log" | tr '\n' ' ')"
        fi
    else
        if [ "$RC" != 0 ] && ! printf '%s\n' "$OUT" | grep -q hello-from-target \
            && printf '%s\n' "$OUT" | grep -qi "timed out"; then step "$1" ok
        else step "$1" FAILED "ssh should time out while port 22 is dropped: exit $RC"; fi
    fi
}

check_http() {   # check_http NAME: port 8080 must answer
    on_source curl -sS --noproxy '*' --max-time 30 "http://$TGT_ADDR:8080/hello.txt"
    if [ "$RC" = 0 ] && [ "$OUT" = hello-from-port-8080 ]; then step "$1" ok
    else step "$1" FAILED "port 8080 did not answer: curl exit $RC"; fi
}

# Lines of the running filter's output not shown yet (what terminal 1 shows).
FILTER_SHOWN=0
show_filter_output() {
    local total
    total=$(wc -l < "$WORK/pktfilter.log")
    if [ "$total" -gt "$FILTER_SHOWN" ]; then
        tail -n +"$((FILTER_SHOWN + 1))" "$WORK/pktfilter.log" | head -n "$((total - FILTER_SHOWN))"
        FILTER_SHOWN=$total
    fi
}

# Starts `pktfilter run` in the target, in the background; waits (at most
# 60 s) for its ready line. Returns 1, with WHY set, if it did not come.
start_filter() {
    echo "$T1 # pktfilter run $TGT_IF --drop icmp --drop tcp:22"
    : > "$WORK/pktfilter.log"
    FILTER_SHOWN=0
    ip netns exec "$TGT_NS" "$PKTFILTER" run "$TGT_IF" --drop icmp --drop tcp:22 >> "$WORK/pktfilter.log" 2>&1 < /dev/null &
    FILTER_PID=$!
    local deadline=$((SECONDS + 60))
    while ! grep -q "Hit Ctrl-C to end" "$WORK/pktfilter.log"; do
        if ! kill -0 "$FILTER_PID" 2>/dev/null; then
            wait "$FILTER_PID"; local rc=$?
            FILTER_PID=""
            show_filter_output
            WHY="pktfilter exited with status $rc before it was ready: $(tail -n 1 "$WORK/pktfilter.log")"
            return 1
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            show_filter_output
            WHY="no 'Hit Ctrl-C to end' from pktfilter in 60 s"
            return 1
        fi
        sleep 0.1
    done
    sleep 0.2   # the rules table follows the ready line: let it land before showing
    show_filter_output
    return 0
}

# Waits (at most 20 s) for the filter process to end; its exit status in
# FILTER_STATUS (128+N for signal N).
reap_filter() {
    local i
    for i in $(seq 200); do kill -0 "$FILTER_PID" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$FILTER_PID" 2>/dev/null; then
        FILTER_STATUS=timeout
        return 1
    fi
    wait "$FILTER_PID" 2>/dev/null
    FILTER_STATUS=$?
    FILTER_PID=""
    return 0
}

xdp_attached() { ip -n "$TGT_NS" link show dev "$TGT_IF" | grep -q xdp; }

# --- the two machines ---------------------------------------------------------

WORK=$(mktemp -d /tmp/swbpf-demo.XXXXXX)
chmod 700 "$WORK"

banner "Setting up: namespaces $SRC_NS ($SRC_ADDR) and $TGT_NS ($TGT_ADDR), veth $SRC_IF <-> $TGT_IF"
# No IPv6 on the link: only the IPv4 addresses above are ever used (and the
# kernel's own IPv6 chatter, MLD reports, would count as ICMP drops).
no_ipv6() {
    ip netns exec "$1" sh -c 'for f in all default; do echo 1 > /proc/sys/net/ipv6/conf/$f/disable_ipv6; done' 2>/dev/null || true
}
setup() {
    ip netns add "$SRC_NS" && ip netns add "$TGT_NS" && no_ipv6 "$SRC_NS" && no_ipv6 "$TGT_NS" \
    && ip link add "$SRC_IF" type veth peer name "$TGT_IF" \
    && ip link set "$SRC_IF" netns "$SRC_NS" && ip link set "$TGT_IF" netns "$TGT_NS" \
    && ip -n "$SRC_NS" addr add "$SRC_ADDR/24" dev "$SRC_IF" \
    && ip -n "$TGT_NS" addr add "$TGT_ADDR/24" dev "$TGT_IF" \
    && ip -n "$SRC_NS" link set lo up && ip -n "$TGT_NS" link set lo up \
    && ip -n "$SRC_NS" link set "$SRC_IF" up && ip -n "$TGT_NS" link set "$TGT_IF" up
}
# A failure here leaves nothing to demonstrate: say what, and stop.
setup_failed() {
    step setup FAILED "$1"
    banner "Result"
    echo "demo-filter: failed steps: setup"
    exit 1
}
setup || setup_failed "could not make the namespaces and the veth pair"

# sshd: throwaway host key, a throwaway client key pair allowed for root,
# keys only, no PAM, listening on the target's address only.
ssh-keygen -q -t ed25519 -N '' -C swbpf-demo-host -f "$WORK/host_key" </dev/null >/dev/null || setup_failed "ssh-keygen failed"
ssh-keygen -q -t ed25519 -N '' -C swbpf-demo-client -f "$WORK/client_key" </dev/null >/dev/null || setup_failed "ssh-keygen failed"
cp "$WORK/client_key.pub" "$WORK/authorized_keys"
cat > "$WORK/sshd_config" <<EOF
Port 22
ListenAddress $TGT_ADDR
HostKey $WORK/host_key
PidFile $WORK/sshd.pid
AuthorizedKeysFile $WORK/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
# The keys live in a temporary directory under /tmp (mode 1777), which
# StrictModes would reject; they are made by this script and mode 0600.
StrictModes no
PrintMotd no
PrintLastLog no
EOF
# Privilege separation needs /run/sshd (systemd's ssh.service makes it).
if [ ! -d /run/sshd ]; then mkdir -m 0755 /run/sshd && MADE_RUN_SSHD=1; fi
/usr/sbin/sshd -t -f "$WORK/sshd_config" || setup_failed "sshd rejects its configuration"
ip netns exec "$TGT_NS" /usr/sbin/sshd -D -e -f "$WORK/sshd_config" > "$WORK/sshd.log" 2>&1 < /dev/null &
SSHD_PID=$!

mkdir "$WORK/www"
echo hello-from-port-8080 > "$WORK/www/hello.txt"
ip netns exec "$TGT_NS" "$PYTHON" -m http.server 8080 --bind "$TGT_ADDR" --directory "$WORK/www" > "$WORK/http.log" 2>&1 < /dev/null &
HTTP_PID=$!

listening() { [ -n "$(ip netns exec "$TGT_NS" ss -Hltn "sport = :$1" 2>/dev/null)" ]; }
deadline=$((SECONDS + 20))
until listening 22 && listening 8080; do
    if [ "$SECONDS" -ge "$deadline" ] || ! kill -0 "$SSHD_PID" 2>/dev/null || ! kill -0 "$HTTP_PID" 2>/dev/null; then
        tail -n 5 "$WORK/sshd.log" "$WORK/http.log"
        setup_failed "sshd or the HTTP server did not start listening (their logs are above)"
    fi
    sleep 0.1
done
note "target: sshd (pid $SSHD_PID) on $TGT_ADDR:22, HTTP server (pid $HTTP_PID) on $TGT_ADDR:8080"
note "terminal 1 is a root shell on the target (ip netns exec $TGT_NS), terminal 2 one on the source (ip netns exec $SRC_NS)"
note "pktfilter is $PKTFILTER; keys and logs in $WORK"
step setup ok

# --- baseline -------------------------------------------------------------------

banner "Step 1: before the filter, ping, SSH and port 8080 all work"
check_ping baseline-ping pass
check_ssh baseline-ssh pass
check_http baseline-http
pause

# --- filtered -------------------------------------------------------------------

banner "Step 2: start the filter on the target: drop ICMP and TCP port 22"
if start_filter; then
    step filter-start ok
    check_ping filtered-ping drop
    check_ssh filtered-ssh drop
    check_http filtered-http
    banner "Step 3: the counters, from another shell on the target"
    on_target_pktfilter list -i "$TGT_IF"
    icmp_hits=$(printf '%s\n' "$OUT" | awk '$1 == "0" && /icmp/ { print ($NF == "never") ? $(NF-2) : $(NF-3) }')
    ssh_hits=$(printf '%s\n' "$OUT" | awk '$1 == "1" && /tcp/ { print ($NF == "never") ? $(NF-2) : $(NF-3) }')
    # Exactly the two echo requests; ssh's SYN and its retransmissions.
    if [ "$RC" = 0 ] && [ "${icmp_hits:-x}" = 2 ] && [ "${ssh_hits:-0}" -ge 1 ]; then step filtered-counters ok
    else step filtered-counters FAILED "list exit $RC; icmp rule ${icmp_hits:-?} packets (want 2), tcp:22 rule ${ssh_hits:-?} (want >= 1)"; fi
else
    step filter-start FAILED "$WHY"
    for s in filtered-ping filtered-ssh filtered-http filtered-counters; do step "$s" FAILED "the filter did not start"; done
fi
pause

# --- round 1: Ctrl-C --------------------------------------------------------------

banner "Step 4: Ctrl-C in terminal 1 stops the filter; traffic flows again"
if [ -n "$FILTER_PID" ]; then
    echo "$T1 ^C"
    kill -INT "$FILTER_PID"
    reap_filter
    show_filter_output
    if [ "$FILTER_STATUS" = 0 ] && grep -q "pktfilter: detached from $TGT_IF" "$WORK/pktfilter.log" && ! xdp_attached; then
        step ctrl-c-exit ok
    else
        step ctrl-c-exit FAILED "after SIGINT: exit status $FILTER_STATUS, closing line $(grep -c 'detached from' "$WORK/pktfilter.log") time(s)"
        stop_pid "$FILTER_PID" KILL; FILTER_PID=""
    fi
else
    step ctrl-c-exit FAILED "no filter was running"
fi
check_ping ctrl-c-ping pass
check_ssh ctrl-c-ssh pass
pause

# --- round 2: SIGKILL -------------------------------------------------------------

banner "Step 5: start it again, then kill it with SIGKILL: the kernel detaches it"
if start_filter; then
    check_ping restart-filtered-ping drop
    echo "$T1 (from a third shell: kill -KILL $FILTER_PID)"
    # (bash's own "Killed" notice for its background job is not shown)
    { kill -KILL "$FILTER_PID"; reap_filter; } 2>/dev/null
    show_filter_output
    [ "$FILTER_STATUS" = 137 ] && echo "Killed"
    note "pktfilter exit status $FILTER_STATUS"
    gone=0
    for i in $(seq 100); do
        if ! xdp_attached; then gone=1; break; fi
        sleep 0.1
    done
    echo "$T1 # ip link show $TGT_IF"
    ip -n "$TGT_NS" link show dev "$TGT_IF"
    if [ "$gone" = 1 ]; then step sigkill-detached ok
    else step sigkill-detached FAILED "XDP still attached to $TGT_IF 10 s after SIGKILL"; fi
else
    step restart-filtered-ping FAILED "$WHY"
    step sigkill-detached FAILED "the filter did not start again"
fi
check_ping sigkill-ping pass
check_ssh sigkill-ssh pass

# --- result -------------------------------------------------------------------------

banner "Result"
if [ "$FAILED" = 0 ]; then
    echo "demo-filter: all steps ok"
    exit 0
fi
echo "demo-filter: failed steps: ${STEPS_FAILED[*]}"
exit 1
