#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Runs inside the kernel lane's VM (see kernel-lane.sh): REPO OUT [FILTER].
# As on the host, the suite runs in a mount namespace of its own with the
# BPF filesystem, tracefs and debugfs unmounted.
repo=$1 out=$2 filter=$3
uname -r >"$out/kernel"
cd "$repo" || exit 1
set -- --testing-library swift-testing
[ -n "$filter" ] && set -- "$@" --filter "$filter"
# A bound on the run: a task stuck in the kernel cannot hang the lane.
SWIFTBPF_OUTER_MNTNS=$(readlink /proc/self/ns/mnt) SWIFTBPF_KERNEL_LANE=1 CI=true \
    timeout -k 30 1100 unshare --mount --propagation private sh -c \
    'for m in /sys/fs/bpf /sys/kernel/tracing /sys/kernel/debug; do umount -l $m 2>/dev/null; done; exec "$0" "$@"' \
    .build/debug/swift-bpfPackageTests.xctest "$@" >"$out/log" 2>&1
status=$?
# What the kernel said (RCU stalls, hung tasks, BPF warnings), for a failure.
dmesg >"$out/dmesg" 2>&1
ps -eo pid,stat,wchan:32,comm >"$out/tasks" 2>&1
echo $status >"$out/status"
