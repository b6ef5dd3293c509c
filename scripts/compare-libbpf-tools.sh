#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Runs each tool beside its libbpf-tools counterpart (Debian's libbpf-tools,
# /usr/sbin) on the same workload and prints both outputs, for a person to
# compare. Root; `make build` first. tests/ParityTests assert the same.
set -euo pipefail
cd "$(dirname "$0")/.."
ours=.build/debug
work=$(mktemp -d /tmp/swiftbpf-compare.XXXXXX)
trap 'rm -rf "$work"' EXIT
cat > "$work/workload.sh" <<SCRIPT
#!/bin/sh
cat $work/workload.sh > /dev/null
ls $work/missing 2>/dev/null
/bin/echo "two words" $work > /dev/null
SCRIPT
chmod +x "$work/workload.sh"

for tool in execsnoop opensnoop; do
  timeout -s INT 3 "/usr/sbin/$tool" > "$work/theirs.$tool" 2>&1 &
  timeout -s INT 3 "$ours/$tool" > "$work/ours.$tool" 2>/dev/null &
done
sleep 1.5
"$work/workload.sh"
wait
for tool in execsnoop opensnoop; do
  echo "== $tool: libbpf-tools"
  { head -1 "$work/theirs.$tool"; grep -F "$work" "$work/theirs.$tool"; } || true
  echo "== $tool: swift-bpf"
  { head -1 "$work/ours.$tool"; grep -F "$work" "$work/ours.$tool"; } || true
  echo
done
