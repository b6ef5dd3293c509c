# swift-bpf: everything a fresh Debian 12 machine needs, as root.
#   make demo   install what is missing, build, run mkdirtrace
#   make test   install what is missing, run the tests (root: they load BPF)

SWIFT ?= swift
# Build and run dependencies (libbpf 1.1, its ELF and zlib deps, bpftool for
# vmlinux.h, setpriv and script for tests, libbpf-tools for the parity test,
# linux-libc-dev for syscall numbers, iproute2 and ping for the packet filter tests).
APT_PACKAGES := libbpf-dev libelf-dev zlib1g-dev bpftool pkg-config util-linux bsdutils linux-libc-dev libbpf-tools iproute2 iputils-ping
# The other yardstick `make bench` compares against.
BENCH_PACKAGES := bpftrace

.PHONY: deps bench-deps build demo test example bench clean

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

bench-deps: deps
	$(call apt_install,$(BENCH_PACKAGES))

build: deps
	$(SWIFT) build

demo: build
	$(SWIFT) run mkdirtrace

# The library's tests, then the example package that imports the library
# as another project would.
test: deps
	$(SWIFT) test
	$(MAKE) example

example: deps
	cd Examples/SignalWatch && $(SWIFT) build

# Our release tools beside C yardsticks on syscall storms (bench/run.py says
# what is measured), then the library's per-event cost. Root.
bench: bench-deps
	$(SWIFT) build -c release
	mkdir -p .build/bench
	cc -O2 -Wall -o .build/bench/storm bench/storm.c
	cc -O2 -Wall -o .build/bench/mkdir_consumer bench/mkdir_consumer.c -lbpf -lelf -lz
	BENCH_OBJ="$$(find .build/plugins/outputs -path '*BPFProbes*' -name mkdirtrace.bpf.o | head -n 1)" python3 bench/run.py
	.build/release/eventpath

clean:
	rm -rf .build Examples/SignalWatch/.build
