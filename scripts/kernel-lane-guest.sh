#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Runs inside the kernel lane's VM (see kernel-lane.sh): REPO OUT, with the
# tests' filter (swift-testing --filter) in OUT/filter.
# As on the host, the suite runs in a mount namespace of its own with the
# BPF filesystem, tracefs and debugfs unmounted.
repo=$1 out=$2 filter=$(cat "$2/filter" 2>/dev/null)
uname -r >"$out/kernel"
cd "$repo" || exit 1
set -- --testing-library swift-testing
[ -n "$filter" ] && set -- "$@" --filter "$filter"

# A task stuck in the kernel ignores even SIGKILL, and so then does
# whatever waits for it: at the bound, a watchdog records what the kernel
# says (stuck tasks, their kernel stacks, dmesg) and powers the guest off.
(
    sleep 1440
    ps -eo pid,stat,wchan:32,comm >"$out/tasks" 2>&1
    for p in $(ps -eo pid=,stat= | awk '$2 ~ /D/ {print $1}'); do
        echo "== $p $(cat /proc/$p/comm)"; cat /proc/$p/stack
    done >"$out/stacks" 2>&1
    dmesg >"$out/dmesg" 2>&1
    echo 124 >"$out/status"
    sync
    echo o >/proc/sysrq-trigger
) &
watchdog=$!

SWIFTBPF_OUTER_MNTNS=$(readlink /proc/self/ns/mnt) SWIFTBPF_KERNEL_LANE=1 CI=true SWIFTBPF_SUPPORT_DIR=$out/support \
    unshare --mount --propagation private sh -c \
    'for m in /sys/fs/bpf /sys/kernel/tracing /sys/kernel/debug; do umount -l $m 2>/dev/null; done; exec "$0" "$@"' \
    .build/debug/swift-bpfPackageTests.xctest "$@" >"$out/log" 2>&1
status=$?
kill $watchdog 2>/dev/null
# What the kernel said (RCU stalls, hung tasks, BPF warnings), for a failure.
dmesg >"$out/dmesg" 2>&1
ps -eo pid,stat,wchan:32,comm >"$out/tasks" 2>&1
echo $status >"$out/status"
