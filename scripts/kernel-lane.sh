#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The kernel lane: boots another kernel (default: Debian's stock 6.1, which
# has kprobes) under qemu with virtme-ng, on this machine's root filesystem
# over 9p, and runs the whole test suite inside with SWIFTBPF_KERNEL_LANE=1.
# Results come back through a writable directory: the guest's log, its
# exit status and its kernel version.
#   KERNEL=/boot/vmlinuz-...  another kernel image (it needs BTF and 9p)
#   LANE_FILTER=NAME          only the tests NAME selects (swift-testing --filter)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

if [ -z "${KERNEL:-}" ]; then
    # The generic image: the -cloud- one has no 9p.
    KERNEL=$(ls /boot/vmlinuz-6.1*-amd64 2>/dev/null | grep -v -- -cloud- | sort -V | tail -n 1 || true)
fi
if [ -z "$KERNEL" ] || [ ! -r "$KERNEL" ]; then
    echo "kernel-lane: no kernel image (install linux-image-amd64, or set KERNEL=/boot/vmlinuz-...)" >&2
    exit 1
fi
tests=$root/.build/debug/swift-bpfPackageTests.xctest
if [ ! -x "$tests" ]; then
    echo "kernel-lane: $tests is missing; build it first with 'swift build --build-tests'" >&2
    exit 1
fi

# pip may have put vng beside its Python rather than on PATH.
vng=$(command -v vng || echo "$(dirname "$(python3 -c 'import sys; print(sys.executable)')")/vng")
if [ ! -x "$vng" ]; then
    echo "kernel-lane: no vng (install virtme-ng from PyPI: python3 -m pip install virtme-ng)" >&2
    exit 1
fi

# One boot: the suite inside, its results in $out. Sets $status.
boot() {
    out=$(mktemp -d /tmp/swiftbpf-lane.XXXXXX)
    echo "kernel lane: booting $KERNEL under qemu (TCG, 2 CPUs, 2 GiB)..."
    start=$(date +%s)
    # KVM hangs in this nested setup, so software emulation; a boot takes ~30 s.
    # The host's PATH goes in too: tests compile fixtures with cc and swiftc.
    # The filter is quoted: the guest's shell would take its | for a pipe.
    set +e
    timeout 1620 "$vng" --run "$KERNEL" --disable-kvm --force-9p --memory 2G --cpus 2 \
        --rwdir "$out" --exec "env PATH=$PATH $root/scripts/kernel-lane-guest.sh $root $out '${LANE_FILTER:-}'" >"$out/console" 2>&1
    vm=$?
    set -e
    elapsed=$(( $(date +%s) - start ))
    if [ ! -s "$out/status" ]; then
        echo "kernel-lane: the guest did not finish (vng exit $vm after ${elapsed}s); its console:" >&2
        tail -n 40 "$out/console" >&2 || true
        status=124  # the guest stalled before its watchdog could report
        return
    fi
    cat "$out/log" || true
    status=$(cat "$out/status")
    echo "kernel lane: $(cat "$out/kernel"), test exit status $status, ${elapsed}s in all"
    if [ "$status" != 0 ]; then
        [ "$status" = 124 ] && echo "kernel-lane: the test run did not finish within its bound (stuck?)"
        echo "kernel-lane: tasks in the guest at the end (STAT D: stuck in the kernel):"
        { grep -v " S " "$out/tasks" | tail -n 20; } || true
        if [ -s "$out/stacks" ]; then echo "kernel-lane: their kernel stacks:"; cat "$out/stacks"; fi
        echo "kernel-lane: the guest kernel's last messages:"
        tail -n 60 "$out/dmesg" || true
    fi
}

outs=()
boot
outs+=("$out")
# Under emulation a task has now and then stayed in the kernel through
# SIGKILL (see CONTRIBUTING.md, the kernel lane): that one case boots again, once, saying so
# (two runs at the 1440 s bound still fit CI's 90 minutes). Any other
# failure stands.
for attempt in 2; do
    if [ "$status" != 0 ] && { [ "$status" = 124 ] || grep -qE "survived SIGKILL|did not answer in 120 s" "$out/log"; }; then
        echo "kernel-lane: RETRY $attempt of 2: a task was stuck in the guest's kernel (evidence above); booting again"
        boot
        outs+=("$out")
    fi
done
rm -rf "${outs[@]}"
exit "$status"
