#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Builds the DaemonSet image offline: the exporter and the tools, built
# release with the Swift runtime linked statically, plus the few shared
# libraries they load (libbpf, libelf, zlib, the C and C++ runtimes) and
# the syscall-number header, on an empty base (no registry needed).
#   scripts/build-image.sh [IMAGE]     (default localhost/swiftbpf:latest)
set -eu
image=${1:-localhost/swiftbpf:latest}
tools="swiftbpf-exporter mkdirtrace execsnoop opensnoop syscount sysnoop bashreadline vfsstat filelife pktfilter egressguard"
stage=.build/image
rootfs=$stage/rootfs

# One build per product: SwiftPM takes one --product at a time.
for t in $tools; do swift build -c release --static-swift-stdlib --product "$t"; done
bin=$(swift build -c release --static-swift-stdlib --show-bin-path)

rm -rf "$stage"
mkdir -p "$rootfs/usr/local/bin" "$rootfs/tmp"
for t in $tools; do
	cp "$bin/$t" "$rootfs/usr/local/bin/"
	strip "$rootfs/usr/local/bin/$t"
	# Each shared library at its own path, and the loader.
	ldd "$bin/$t" | awk '/=> \// { print $3 } /^[[:space:]]*\/lib/ { print $1 }' | while read -r lib; do
		cp --parents -L -n "$lib" "$rootfs/"
	done
done
# Syscall numbers for names (the tools read them at run time).
cp --parents -L /usr/include/x86_64-linux-gnu/asm/unistd_64.h "$rootfs/"
cp deploy/Containerfile "$stage/"
podman build --pull=never -t "$image" -f "$stage/Containerfile" "$stage"
echo "built $image: $(du -sh "$rootfs" | cut -f1) ($tools)"
