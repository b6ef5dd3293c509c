#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# The release: the multi-call `swiftbpf` (scripts/release-build.sh: only
# the C library stays shared), a link
# per tool, a man page per tool (section 8) and shell completions, both
# written by the tools' own argument definitions.
#   scripts/release.sh stage DIR             builds, and writes the tree under DIR (bin/, share/)
#   scripts/release.sh install STAGE DESTDIR PREFIX   copies a staged tree, listing what it wrote
#   scripts/release.sh uninstall DESTDIR PREFIX       removes what that list names
#   scripts/release.sh dist                   .build/dist/swift-bpf-VERSION-ARCH-linux.tar.gz
# SWIFT (default swift) builds; the release build is `make release`'s.
set -eu
cd "$(dirname "$0")/.."
SWIFT=${SWIFT:-swift}
version=$(tr -d ' \n' < VERSION)
arch=$(uname -m)
release_build() { SWIFT=$SWIFT scripts/release-build.sh "$@"; }

# swift-argument-parser's generate-manual, built once from the checkout
# the package resolved (a copy, so the checkout stays as it is).
manual_tool() {
	tool=.build/manual-tool/release/generate-manual
	if [ ! -x "$tool" ]; then
		rm -rf .build/manual-tool/src && mkdir -p .build/manual-tool
		cp -R .build/checkouts/swift-argument-parser .build/manual-tool/src
		"$SWIFT" build -c release --package-path .build/manual-tool/src --scratch-path .build/manual-tool --product generate-manual >&2
	fi
	echo "$tool"
}

stage() {
	out=$1
	release_build --product swiftbpf >&2
	bin=$(release_build --show-bin-path)
	rm -rf "$out" && mkdir -p "$out/bin" "$out/share/man/man8" "$out/share/bash-completion/completions" \
		"$out/share/zsh/site-functions" "$out/share/fish/vendor_completions.d"
	cp "$bin/swiftbpf" "$out/bin/swiftbpf"
	strip "$out/bin/swiftbpf"
	tools=$("$out/bin/swiftbpf" --list | cut -d' ' -f1)
	manual=$(manual_tool)
	for t in $tools; do
		ln -s swiftbpf "$out/bin/$t"
		"$manual" "$out/bin/$t" --section 8 --output-directory "$out/share/man/man8" >/dev/null
		"$out/bin/$t" --generate-completion-script bash > "$out/share/bash-completion/completions/$t"
		"$out/bin/$t" --generate-completion-script zsh > "$out/share/zsh/site-functions/_$t"
		"$out/bin/$t" --generate-completion-script fish > "$out/share/fish/vendor_completions.d/$t.fish"
	done
	# swiftbpf's own page: how it is called, and its tools.
	{
		echo ".TH SWIFTBPF 8 \"\" \"swift-bpf $version\""
		echo ".SH NAME"
		echo "swiftbpf \\- BCC-style eBPF tools in one program"
		echo ".SH SYNOPSIS"
		echo ".B swiftbpf"
		echo "TOOL [ARGUMENTS...]"
		echo ".br"
		echo ".B swiftbpf"
		echo "--list | help TOOL | --version"
		echo ".SH DESCRIPTION"
		echo "Every tool is also a link to swiftbpf named after it, which runs that tool."
		echo ".SH TOOLS"
		"$out/bin/swiftbpf" --list | while read -r name abstract; do
			printf '.TP\n.BR %s (8)\n%s\n' "$name" "$abstract"
		done
	} > "$out/share/man/man8/swiftbpf.8"
}

# The files a tree holds, relative to it.
files_of() { (cd "$1" && find . ! -type d | sed 's|^\./||' | sort); }

case ${1:-} in
stage)
	stage "$2"
	;;
install)
	from=$2 root="$3$4"
	[ -x "$from/bin/swiftbpf" ] || { echo "install: no staged tree at $from" >&2; exit 1; }
	mkdir -p "$root/share/swift-bpf"
	list="$root/share/swift-bpf/installed-files"
	{ files_of "$from" | grep -v -x -e LICENSE -e README.md; echo share/swift-bpf/installed-files; } > "$list.new"
	(cd "$from" && tar cf - bin share) | (cd "$root" && tar xf - --no-same-owner)
	mv "$list.new" "$list"
	echo "installed $(($(wc -l < "$list") - 1)) files under $root (listed in $list)"
	;;
uninstall)
	root="$2$3"
	list="$root/share/swift-bpf/installed-files"
	[ -f "$list" ] || { echo "uninstall: nothing installed under $root (no $list)" >&2; exit 1; }
	n=0
	while read -r f; do
		case $f in ''|/*|*..*) continue ;; esac
		[ "$f" = share/swift-bpf/installed-files ] && continue
		if [ -e "$root/$f" ] || [ -L "$root/$f" ]; then rm -f "$root/$f"; n=$((n + 1)); fi
	done < "$list"
	rm -f "$list"
	rmdir "$root/share/swift-bpf" 2>/dev/null || true
	echo "removed $n files from $root"
	;;
dist)
	name=swift-bpf-$version-$arch-linux
	stage ".build/dist/$name"
	cp LICENSE README.md ".build/dist/$name/"
	tar -C .build/dist -czf ".build/dist/$name.tar.gz" "$name"
	echo ".build/dist/$name.tar.gz: $(du -h ".build/dist/$name.tar.gz" | cut -f1), swiftbpf $(du -h ".build/dist/$name/bin/swiftbpf" | cut -f1) stripped"
	;;
*)
	echo "usage: scripts/release.sh stage DIR | install STAGE DESTDIR PREFIX | uninstall DESTDIR PREFIX | dist" >&2
	exit 2
	;;
esac
