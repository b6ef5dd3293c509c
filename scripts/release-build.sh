#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# The release build, in one place (make release, dist, install, image and
# bench use it): `swift build -c release` with the Swift runtime, libbpf,
# libelf, zlib, libcrypt and the C++ runtime linked in, so that only the C
# library is loaded at run time. Arguments go to swift build
# (--product swiftbpf, --show-bin-path).
#
# How: pkg-config is pointed at .build/static-link/pkgconfig, whose libbpf,
# libelf and libcrypt name their archives (-l:libbpf.a ...); the Swift
# runtime's -lstdc++ finds .build/static-link/libstdc++.so, a linker script
# that names libstdc++.a. lld links: it finds an archive's members
# whatever the order (the runtime names -lstdc++ before the Foundation
# archives that need it, which gold refuses).
set -eu
cd "$(dirname "$0")/.."
links=.build/static-link
archive() {
	path=$(cc -print-file-name="$1")
	[ "$path" != "$1" ] || { echo "release-build: no $1 (its -dev package is missing)" >&2; exit 1; }
	echo "$path"
}
mkdir -p "$links/pkgconfig"
for a in libbpf.a libelf.a libz.a libcrypt.a; do archive $a >/dev/null; done
stdcxx=$(archive libstdc++.a)
pc() { printf 'Name: %s\nDescription: %s, linked in\nVersion: 0\nLibs: %s\n' "$1" "$1" "$2" > "$links/pkgconfig/$1.pc"; }
pc libbpf "-l:libbpf.a -l:libelf.a -l:libz.a"
pc libelf "-l:libelf.a -l:libz.a"
pc libcrypt "-l:libcrypt.a"
printf 'INPUT(%s)\n' "$stdcxx" > "$links/libstdc++.so"
export PKG_CONFIG_PATH="$PWD/$links/pkgconfig"
exec "${SWIFT:-swift}" build -c release --static-swift-stdlib \
	-Xswiftc -use-ld=lld -Xlinker -L"$PWD/$links" \
	-Xswiftc -Xclang-linker -Xswiftc -static-libgcc -Xswiftc -Xclang-linker -Xswiftc -no-pie "$@"
