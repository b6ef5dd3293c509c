#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# `make fuzz`: every parser of untrusted bytes under libFuzzer, with
# AddressSanitizer, for FUZZ_SECONDS each (default 60; make test runs
# 10). FUZZ_TARGETS picks some. The build is a separate one
# (.build/fuzz), with SWIFTBPF_FUZZ set: the replayer becomes the
# fuzzer's callback, and libFuzzer provides main.
#
# New inputs go to .build/fuzz/corpus/TARGET, seeded from Fuzz/Corpus/TARGET
# (and, for the ELF readers, the machine's own binaries). A crash stops the
# run, saved as .build/fuzz/crashes/TARGET-crash-*: copy it into
# Fuzz/Corpus/TARGET/ (the unit tests replay every file there) and fix.
set -eu
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-60}
targets=${FUZZ_TARGETS:-"elf build-id maps kallsyms records rules runtime-state"}
scratch=.build/fuzz
flags="--scratch-path $scratch --sanitize=address"
# Package.swift instruments the parsers' modules and links libFuzzer into
# swiftbpf-fuzz alone. The build's own tools run under ASan too.
export SWIFTBPF_FUZZ=1 ASAN_OPTIONS=detect_leaks=0
# A trap is libFuzzer's to report (with the input), not the Swift runtime's backtracer's.
export SWIFT_BACKTRACE=enable=no
# shellcheck disable=SC2086
${SWIFT:-swift} build $flags --product swiftbpf-fuzz
# shellcheck disable=SC2086
bin="$(${SWIFT:-swift} build $flags --show-bin-path)/swiftbpf-fuzz"
mkdir -p "$scratch/crashes"
status=0
for t in $targets; do
	[ -d "Fuzz/Corpus/$t" ] || { echo "fuzz: no target '$t' (Fuzz/Corpus has: $(ls Fuzz/Corpus | tr '\n' ' '))" >&2; exit 2; }
	work="$scratch/corpus/$t"
	mkdir -p "$work"
	extra=""
	if [ "$t" = elf ]; then
		# Real binaries as further seeds: an executable, a library, a stripped one.
		for f in /bin/true /usr/lib/x86_64-linux-gnu/libelf.so.1 /usr/lib/x86_64-linux-gnu/libz.so.1; do
			[ -f "$f" ] && cp -L "$f" "$work/seed-$(basename "$f")" 2>/dev/null || true
		done
		extra="-max_len=262144"
	fi
	echo "fuzz: $t for ${seconds}s"
	# shellcheck disable=SC2086
	if ! SWIFTBPF_FUZZ_TARGET=$t "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -detect_leaks=0 \
		-print_final_stats=1 -artifact_prefix="$scratch/crashes/$t-" $extra "$work" "Fuzz/Corpus/$t" > "$scratch/$t.log" 2>&1; then
		tail -n 40 "$scratch/$t.log" >&2
		echo "fuzz: $t failed; the input is in $scratch/crashes/ (add it to Fuzz/Corpus/$t/ as a regression input)" >&2
		status=1
		continue
	fi
	grep -E '^stat::number_of_executed_units|^stat::new_units_added' "$scratch/$t.log" | sed "s/^/fuzz: $t /"
done
exit $status
