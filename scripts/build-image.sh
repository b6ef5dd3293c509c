#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Builds the DaemonSet image offline: the release `swiftbpf` (every tool
# and the exporter, scripts/release-build.sh), a link per tool, and the C
# library it loads, on an empty base (no registry needed).
#   scripts/build-image.sh [IMAGE]     (default localhost/swiftbpf:latest)
set -eu
image=${1:-localhost/swiftbpf:latest}
stage=.build/image
rootfs=$stage/rootfs

scripts/release-build.sh --product swiftbpf
bin=$(scripts/release-build.sh --show-bin-path)

rm -rf "$stage"
mkdir -p "$rootfs/usr/local/bin" "$rootfs/tmp"
cp "$bin/swiftbpf" "$rootfs/usr/local/bin/"
strip "$rootfs/usr/local/bin/swiftbpf"
for t in $("$rootfs/usr/local/bin/swiftbpf" --list | cut -d' ' -f1); do
	ln -s swiftbpf "$rootfs/usr/local/bin/$t"
done
# Each shared library at its own path (the C library's), and the loader;
# and libgcc_s, which the C library loads itself when a thread exits.
{ ldd "$bin/swiftbpf" | awk '/=> \// { print $3 } /^[[:space:]]*\/lib/ { print $1 }'; readlink -f "$(cc -print-file-name=libgcc_s.so.1)"; } | while read -r lib; do
	cp --parents -L -n "$lib" "$rootfs/"
done
cp deploy/Containerfile "$stage/"
podman build --pull=never -t "$image" -f "$stage/Containerfile" "$stage"
echo "built $image: $(du -sh "$rootfs" | cut -f1), $("$rootfs/usr/local/bin/swiftbpf" --list | wc -l) tools"
