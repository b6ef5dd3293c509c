#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# The seed's demo: mkdirtrace on the left, a shell on the right where you
# type `mkdir test` and see the trace appear at once. Needs tmux and a
# terminal; without either, mkdirtrace runs alone.
#   MKDIRTRACE   the tracer (make demo builds it)
#   DEMO_SESSION the tmux session's name (default swiftbpf-demo-PID)
#   DEMO_DETACHED=1  start the session and leave it (what the test does)
set -eu
trace=${MKDIRTRACE:?MKDIRTRACE names the mkdirtrace to run}
detached=${DEMO_DETACHED:-}
if ! command -v tmux >/dev/null 2>&1 || { [ -z "$detached" ] && { ! { [ -t 0 ] && [ -t 1 ]; } || [ -n "${TMUX:-}" ]; }; }; then
	exec "$trace"
fi
session=${DEMO_SESSION:-swiftbpf-demo-$$}
dir=$(mktemp -d /tmp/swiftbpf-demo.XXXXXX)
shell=${SHELL:-/bin/sh}
# The shell starts in a scratch directory, with a banner; leaving it ends
# the demo (and the tracer, which detaches as it goes).
right="cd '$dir' && printf '\n  swift-bpf demo: mkdirtrace is tracing on the left.\n  Type   mkdir test   here and watch it appear there.\n  Type   exit   to end the demo.\n\n' && '$shell'; cd / && rm -rf '$dir'; tmux kill-session -t '$session'"
# A tracer that cannot start (not root, no BPF) keeps its pane and its error.
left="'$trace' || { echo; echo 'mkdirtrace stopped (above: why). Enter closes this pane.'; read _; }"
unset TMUX
tmux new-session -d -s "$session" -x 200 -y 40 "$left"
tmux split-window -h -t "$session" "$right"
tmux set-option -t "$session" remain-on-exit off >/dev/null
[ -n "$detached" ] && { echo "$session"; exit 0; }
exec tmux attach-session -t "$session"
