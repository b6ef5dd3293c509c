#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The kernel lane: boots other kernels under qemu with virtme-ng, on this
# machine's root filesystem over 9p, and runs tests inside with
# SWIFTBPF_KERNEL_LANE=1, one kernel after another:
#   Debian 12's 6.1 (linux-image-amd64, which has kprobes): the whole suite;
#   Debian 11's 5.10 and Debian 13's 6.12 (scripts/fetch-kernels.sh): the
#   smoke set, a test per tool (it works, or refuses in one line naming
#   what the kernel lacks), the fallbacks' tests and the KernelLane suite.
# Results come back through a writable directory: the guest's log, its
# exit status, its kernel version and the support table's rows, which
# go to .build/kernel-support after a green run (scripts/support-table.py).
#   KERNEL=/boot/vmlinuz-...  only this kernel image, the whole suite (it
#                             needs BTF and 9p)
#   LANE_FILTER=NAME          only the tests NAME selects (swift-testing --filter)
#   LANE_KERNELS="6.1 5.10"   which of the three, in this order
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

# The smoke set: one test per tool (each records its row), the tests of
# the fallbacks, the library's probing against what each kernel is known
# to have, and the lane's own suite.
SMOKE='KernelBreadth|KernelLane|CallState|jsonLinesCarryExactFields|exitsnoopReportsCodesSignalsAndAge|sigsnoopAndKillsnoopSeeTheSignalsSent'
SMOKE+='|oomkillNamesTheVictim|mountsnoopReportsEachCallWithItsArgumentsAndResult|skbdropNamesWhyAndWherePacketsAreDropped'
SMOKE+='|tcplifeAndTcpstatesFollowAConnectionThroughAClusterIP|tcpretransSeesEachRetransmitUnderPacketLoss'
SMOKE+='|runqlatMeasuresTheWaitOfProcessesSharingACPU|cpudistMeasuresTimeOnAndOffTheCPU|biolatencyAndBiosnoopCountEachRequestOnADisk'
SMOKE+='|profileFindsTheHotFunctionsInTheirShares|offcputimeWeighsTheBlockingStackByTimeAway|stackcountCountsEachCallingStackExactly'
SMOKE+='|execsnoopReportsArgvCommandAndResult|opensnoopReportsFDFlagsAndErrors|syscountCountsExactly|sysnoopDecodesArgumentsOfThreeShapes'
SMOKE+='|bashreadlineSeesWhatIsTypedIntoAnInteractiveBash|rulesChangeWhileItRuns|denyByDefaultKeepsARPAndNeighbourDiscovery'
SMOKE+='|podToPodAndPodToOutside|prometheusAnswersForAKnownContainer|execguardDeniesOneWorkload|fileguardDeniesWritesUnderADirectory'
SMOKE+='|craftedPacketsThatOnceGotThroughAreDropped|anIPVSServiceChoosesARealServer|aDroppedPacketSaysWhereAndWhy'

runs=()  # "IMAGE|FILTER"
if [ -n "${KERNEL:-}" ]; then
    runs+=("$KERNEL|${LANE_FILTER:-}")
else
    for k in ${LANE_KERNELS:-6.1 5.10 6.12}; do
        case $k in
            # The generic image: the -cloud- one has no 9p.
            6.1) image=$(ls /boot/vmlinuz-6.1*-amd64 2>/dev/null | grep -v -- -cloud- | sort -V | tail -n 1 || true)
                 filter=${LANE_FILTER:-} ;;
            5.10) image=$(scripts/fetch-kernels.sh bullseye); filter=${LANE_FILTER:-$SMOKE} ;;
            6.12) image=$(scripts/fetch-kernels.sh trixie); filter=${LANE_FILTER:-$SMOKE} ;;
            *) echo "kernel-lane: LANE_KERNELS names $k; the lane has 6.1, 5.10 and 6.12" >&2; exit 2 ;;
        esac
        if [ -z "$image" ] || [ ! -r "$image" ]; then
            echo "kernel-lane: no kernel image for $k (6.1: install linux-image-amd64; others: scripts/fetch-kernels.sh)" >&2
            exit 1
        fi
        runs+=("$image|$filter")
    done
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
    printf '%s' "$FILTER" >"$out/filter"
    echo "kernel lane: booting $KERNEL under qemu (TCG, 2 CPUs, 2 GiB)${FILTER:+, a filtered set of tests}..."
    start=$(date +%s)
    # KVM hangs in this nested setup, so software emulation; a boot takes ~30 s.
    # The host's PATH goes in too: tests compile fixtures with cc and swiftc.
    # The filter goes in a file: the kernel's command line, which carries
    # the command, holds 2 KiB.
    set +e
    timeout 1620 "$vng" --run "$KERNEL" --disable-kvm --force-9p --memory 2G --cpus 2 \
        --rwdir "$out" --exec "env PATH=$PATH $root/scripts/kernel-lane-guest.sh $root $out" >"$out/console" 2>&1
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

overall=0
support=$root/.build/kernel-support
for run in "${runs[@]}"; do
    KERNEL=${run%%|*} FILTER=${run#*|}
    outs=()
    boot
    outs+=("$out")
    # Under emulation a task has now and then stayed in the kernel through
    # SIGKILL (see CONTRIBUTING.md, the kernel lane): that one case boots
    # again, once, saying so. Any other failure stands.
    for attempt in 2; do
        if [ "$status" != 0 ] && { [ "$status" = 124 ] || grep -qE "survived SIGKILL|did not answer in 120 s" "$out/log"; }; then
            echo "kernel-lane: RETRY $attempt of 2: a task was stuck in the guest's kernel (evidence above); booting again"
            boot
            outs+=("$out")
        fi
    done
    # The support table's rows of a green run replace that kernel's; a
    # failed run leaves its cells blank.
    release=$(cat "$out/kernel" 2>/dev/null || true)
    if [ -n "$release" ]; then
        mkdir -p "$support"
        rm -f "$support/$release.tsv"
        # A green run that recorded nothing still gets its (blank) column.
        if [ "$status" = 0 ]; then
            sort -u "$out/support/$release.tsv" 2>/dev/null >"$support/$release.tsv" || : >"$support/$release.tsv"
        fi
    fi
    rm -rf "${outs[@]}"
    [ "$status" = 0 ] || overall=$status
done
exit "$overall"
