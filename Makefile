# SPDX-License-Identifier: BSD-2-Clause
# swift-bpf: everything a fresh Debian 12 machine needs, as root.
#   make demo   install what is missing, build, run mkdirtrace (beside a shell, in tmux)
#   make test   install what is missing, run the tests (root: they load BPF)
#   make install [PREFIX=/usr/local DESTDIR=]   swiftbpf, a link per tool, man pages, completions
#   make uninstall   removes exactly what install installed
#   make dist   the release tarball in .build/dist
#   make check  the fast loop while editing: build, unit and host tests
#   make demo-filter   the packet filter demo (scripts/demo-filter.sh)
#   make fuzz   the parsers of untrusted bytes under libFuzzer

SWIFT ?= swift
# Build and run dependencies (libbpf 1.1, its ELF and zlib deps, bpftool for
# vmlinux.h, setpriv and script for tests, libbpf-tools for the parity test,
# linux-libc-dev for syscall numbers, iproute2 and ping for the packet filter
# tests, strace to show which bpf() commands a tool makes).
APT_PACKAGES := libbpf-dev libelf-dev zlib1g-dev libcrypt-dev bpftool pkg-config util-linux bsdutils linux-libc-dev libbpf-tools iproute2 iputils-ping strace
# The split-screen demo.
DEMO_PACKAGES := tmux
# The container tests: podman with runc (crun refuses this kind of machine's
# hybrid cgroups) and a static busybox for the image they build locally; the
# exporter's: a real Prometheus, and curl; the packet filter demo's test
# runs a real sshd, ssh, and Python's HTTP server.
TEST_PACKAGES := podman runc busybox-static prometheus curl openssl nftables chromium openssh-server openssh-client python3 tmux
# The packet filter demo: an sshd and an HTTP server behind the filter.
DEMO_FILTER_PACKAGES := openssh-server openssh-client python3 curl iputils-ping iproute2
# The other yardsticks `make bench` compares against: bpftrace, and
# iptables and nftables beside pktfilter's XDP (bench/droprate.py).
BENCH_PACKAGES := bpftrace iptables nftables
# The kernel lane: Debian's stock kernel (6.1, with kprobes and BTF) booted
# under qemu by virtme-ng (PyPI), which needs busybox for its initramfs;
# Debian 11's 5.10 and Debian 13's 6.12 come from the archive through a
# temporary source list (scripts/fetch-kernels.sh, into .build/kernels).
# ipvsadm makes the IPVS service pktjourney follows (ip_vs is a module of
# the lane's kernels, not the host's).
LANE_PACKAGES := qemu-system-x86 linux-image-amd64 busybox-static ipvsadm

.PHONY: check vmlinux syscalls btf-archive support-table image deps test-deps bench-deps lane-deps build release install uninstall dist demo demo-filter test test-host test-kernels example fuzz fuzz-short bench clean

# apt-get update runs once, and only when something is missing.
define apt_install
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" != 0 ]; then echo "missing packages:$$missing; run 'sudo make $@'" >&2; exit 1; fi; \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi
endef

deps:
	$(call apt_install,$(APT_PACKAGES))

test-deps: deps
	$(call apt_install,$(TEST_PACKAGES))

bench-deps: deps
	$(call apt_install,$(BENCH_PACKAGES))

lane-deps: deps
	$(call apt_install,$(LANE_PACKAGES))
	@python3 -c 'import virtme_ng' 2>/dev/null || { echo "installing: virtme-ng (PyPI)"; python3 -m pip install -q --root-user-action=ignore virtme-ng; }
	@scripts/fetch-kernels.sh >/dev/null

build: deps
	$(SWIFT) build

# The DaemonSet image (deploy/Containerfile), built offline with podman.
image: test-deps
	scripts/build-image.sh

# Builds only what mkdirtrace needs (not the exporter's server stack). On
# a terminal with tmux: mkdirtrace on the left, a shell on the right to
# type `mkdir test` in (scripts/demo.sh); otherwise mkdirtrace alone.
demo: deps
	$(call apt_install,$(DEMO_PACKAGES))
	$(SWIFT) build --product mkdirtrace
	MKDIRTRACE="$$($(SWIFT) build --show-bin-path)/mkdirtrace" scripts/demo.sh

# The release build: one program, `swiftbpf`, with the Swift runtime,
# libbpf, libelf, zlib, libcrypt and the C++ runtime linked in
# (scripts/release-build.sh): only the C library is loaded at run time.
release: deps
	SWIFT=$(SWIFT) scripts/release-build.sh --product swiftbpf

# swiftbpf and a link per tool in PREFIX/bin, a man page per tool in
# section 8, bash, zsh and fish completions (scripts/release.sh); the
# installed files are listed in PREFIX/share/swift-bpf/installed-files,
# which is what uninstall removes.
PREFIX ?= /usr/local
install: release
	SWIFT=$(SWIFT) scripts/release.sh stage .build/stage
	scripts/release.sh install .build/stage "$(DESTDIR)" "$(PREFIX)"

uninstall:
	scripts/release.sh uninstall "$(DESTDIR)" "$(PREFIX)"

# .build/dist/swift-bpf-VERSION-ARCH-linux.tar.gz: bin/ (swiftbpf and its
# links), share/ (man pages, completions), LICENSE and README.md.
dist: release
	SWIFT=$(SWIFT) scripts/release.sh dist

# The packet filter demo: two network namespaces, a real sshd and an HTTP
# server in one, pktfilter dropping ping and SSH between them, stopped by
# Ctrl-C and by SIGKILL. Pauses between steps on a terminal (DEMO_AUTO=1
# runs straight through). Builds only pktfilter.
demo-filter: deps
	$(call apt_install,$(DEMO_FILTER_PACKAGES))
	$(SWIFT) build --product pktfilter
	PKTFILTER="$$($(SWIFT) build --show-bin-path)/pktfilter" scripts/demo-filter.sh

# Everything: the DaemonSet image and the release tarball (their tests
# run them; both are the one release build), the host's tests as a fresh
# machine runs them, the example package, a short run of every fuzz
# target, then the kernel lane.
# The support table is made from this run's results alone.
test:
	rm -rf .build/kernel-support
	$(MAKE) image
	$(MAKE) dist
	$(MAKE) test-host
	$(MAKE) example
	$(MAKE) fuzz-short
	$(MAKE) test-kernels
	$(MAKE) support-table

# Every parser of untrusted bytes under libFuzzer and AddressSanitizer, in
# a build of its own (scripts/fuzz.sh): FUZZ_SECONDS each (default 60),
# FUZZ_TARGETS to pick. A crash stops it with the input saved.
fuzz: deps
	scripts/fuzz.sh

fuzz-short: deps
	FUZZ_SECONDS=10 scripts/fuzz.sh

# The fast loop while editing code (about 2 minutes warm): the build, the
# unit tests and the privileged tests on this host, in the same private
# mount namespace as test-host. Left to `make test`: the image, the suites
# that start Prometheus, an sshd, floods of crafted packets or hostile
# process names, the release tarball, tmux's split screen, the example
# package, the fuzzers and the kernel lane.
CHECK_SKIP := KernelLane|Exporter|PacketFilterHardening|PacketFilterDemo|Image|HostileNames|Release|SplitScreenDemo
check: deps
	$(SWIFT) build --build-tests
	@if [ "$$(id -u)" = 0 ]; then \
		SWIFTBPF_OUTER_MNTNS=$$(readlink /proc/self/ns/mnt) unshare --mount --propagation private sh -c 'for m in /sys/fs/bpf /sys/kernel/tracing /sys/kernel/debug; do umount -l $$m 2>/dev/null; done; exec "$$0" "$$@"' \
			$(SWIFT) test --skip-build --skip '$(CHECK_SKIP)'; \
	else \
		$(SWIFT) test --skip-build --skip '$(CHECK_SKIP)'; \
	fi

# The tests run in a private mount namespace with bpffs, tracefs and
# debugfs unmounted, as on a fresh machine: a tool that needs a mount it
# does not make itself fails here, whatever this machine has mounted.
# The kernel lane's own tests run only inside its VM.
# The smoke tests record this kernel's row of the support table
# (docs/kernel-support.md) in .build/kernel-support, kept only from a
# green run.
test-host: test-deps
	$(SWIFT) build --build-tests
	@rm -rf .build/kernel-support/host-run .build/kernel-support/$$(uname -r).tsv; mkdir -p .build/kernel-support
	@if [ "$$(id -u)" = 0 ]; then \
		SWIFTBPF_SUPPORT_DIR=$(CURDIR)/.build/kernel-support/host-run SWIFTBPF_OUTER_MNTNS=$$(readlink /proc/self/ns/mnt) unshare --mount --propagation private sh -c 'for m in /sys/fs/bpf /sys/kernel/tracing /sys/kernel/debug; do umount -l $$m 2>/dev/null; done; exec "$$0" "$$@"' \
			$(SWIFT) test --skip-build --skip KernelLane; \
	else \
		$(SWIFT) test --skip-build --skip KernelLane; \
	fi
	@if [ "$$(id -u)" = 0 ]; then f=.build/kernel-support/host-run/$$(uname -r).tsv; \
		if [ -e "$$f" ]; then sort -u "$$f"; fi >.build/kernel-support/$$(uname -r).tsv; fi; rm -rf .build/kernel-support/host-run

# Boots Debian's 6.1 under qemu and runs the suite there, KernelLane
# included, then Debian's 5.10 and 6.12 with the smoke set (a test per tool,
# the fallbacks' tests and KernelLane); then writes docs/kernel-support.md
# from the rows of the green runs (scripts/kernel-lane.sh; KERNEL=IMAGE for
# one other image, LANE_KERNELS="5.10" for some of the three).
test-kernels: lane-deps
	$(SWIFT) build --build-tests
	scripts/kernel-lane.sh
	scripts/support-table.py

# docs/kernel-support.md from .build/kernel-support (test-host and
# test-kernels fill it); --check fails on a blank cell.
support-table:
	scripts/support-table.py --check

# The built-in BTF (Sources/SwiftBPF/EmbeddedBTF.swift) for the kernel
# lane's kernels and this machine's: minimal BTF for the bundled probes
# (bpftool gen min_core_btf), used where a kernel publishes none. Run it
# after a probe reads a new kernel field, or when the lane's kernels change.
btf-archive: deps
	$(SWIFT) build --target BPFProbes
	scripts/btf-archive.sh

example: deps
	cd Examples/SignalWatch && $(SWIFT) build
# Our release tools, linked as the release ships them
# (scripts/release-build.sh), the multi-call swiftbpf among them, beside
# C yardsticks on syscall storms (bench/run.py says what is
# measured and prints its targets), then pktfilter's XDP drop rate
# beside iptables raw and nftables ingress on a veth (bench/droprate.py,
# with its sender bench/pktflood.c), egressguard's cost on a loopback
# connect storm (bench/connectcost.py), pktjourney's on a veth TCP stream
# (bench/journeycost.py), then the library's per-event cost.
# Root. BENCH_ONLY=droprate runs only the drop rate of the two scripts
# (after the builds; eventpath runs in any case).
BENCH_TOOLS := swiftbpf mkdirtrace opensnoop syscount execsnoop eventpath pktfilter egressguard pktjourney
bench: bench-deps
	for t in $(BENCH_TOOLS); do SWIFT=$(SWIFT) scripts/release-build.sh --product $$t || exit 1; done
	mkdir -p .build/bench
	cc -O2 -Wall -o .build/bench/storm bench/storm.c
	cc -O2 -Wall -o .build/bench/mkdir_consumer bench/mkdir_consumer.c -lbpf -lelf -lz
	cc -O2 -Wall -o .build/bench/pktflood bench/pktflood.c
	cc -O2 -Wall -o .build/bench/connectstorm bench/connectstorm.c
	BENCH_OBJ="$$(find .build/plugins/outputs -path '*BPFProbes*' -name mkdirtrace.bpf.o | head -n 1)" python3 bench/run.py
	BENCH_BIN="$${BENCH_BIN:-$(CURDIR)/.build/release}" python3 bench/droprate.py
	BENCH_BIN="$${BENCH_BIN:-$(CURDIR)/.build/release}" python3 bench/connectcost.py
	BENCH_BIN="$${BENCH_BIN:-$(CURDIR)/.build/release}" python3 bench/journeycost.py
	.build/release/eventpath

# The vendored vmlinux.h the probes compile against (probes/vmlinux/ARCH),
# regenerated from a kernel's BTF: by default the running kernel's, or
# VMLINUX_BTF=FILE. Any recent kernel with the types the probes name will
# do: CO-RE relocates every field access at load time.
VMLINUX_BTF ?= /sys/kernel/btf/vmlinux
vmlinux: deps
	@arch=$$(uname -m | sed 's/^x86_64$$/x86/; s/^aarch64$$/arm64/'); out=probes/vmlinux/$$arch/vmlinux.h; \
	mkdir -p $$(dirname $$out) && \
	{ echo "/* Generated by 'make vmlinux' (bpftool) from $(VMLINUX_BTF) (the build machine runs Linux $$(uname -r)). */"; \
	  bpftool btf dump file $(VMLINUX_BTF) format c; } > $$out.tmp && mv $$out.tmp $$out && echo "wrote $$out"

# The syscall numbers built in (for machines without kernel headers),
# from this machine's x86_64 asm/unistd_64.h.
syscalls: deps
	@out=Sources/ToolSupport/SyscallNumbers.swift; { \
	  echo "// SPDX-License-Identifier: BSD-2-Clause"; \
	  echo "// Generated by 'make syscalls' from Linux's x86_64 asm/unistd_64.h (linux-libc-dev $$(dpkg-query -W -f='$${Version}' linux-libc-dev)):"; \
	  echo "// the syscall numbers a machine without kernel headers (a release tarball's, the image's) uses."; \
	  echo "#if arch(x86_64)"; echo 'let embeddedSyscallNumbers = """'; \
	  grep -E '^#define __NR_[a-z0-9_]+ [0-9]+$$' /usr/include/x86_64-linux-gnu/asm/unistd_64.h; \
	  echo '"""'; echo "#else"; echo 'let embeddedSyscallNumbers = ""'; echo "#endif"; } > $$out.tmp && mv $$out.tmp $$out && echo "wrote $$out"

clean:
	rm -rf .build Examples/SignalWatch/.build
