#!/bin/sh
# Runs inside the kernel lane's VM (see kernel-lane.sh): REPO OUT [FILTER].
repo=$1 out=$2 filter=$3
uname -r >"$out/kernel"
cd "$repo" || exit 1
set -- --testing-library swift-testing
[ -n "$filter" ] && set -- "$@" --filter "$filter"
SWIFTBPF_KERNEL_LANE=1 CI=true .build/debug/swift-bpfPackageTests.xctest "$@" >"$out/log" 2>&1
echo $? >"$out/status"
