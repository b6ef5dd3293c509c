#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# The release: the multi-call `swiftbpf` (scripts/release-build.sh: only
# the C library stays shared), a link per tool, a man page per tool
# (section 8) and shell completions, both written by the tools' own
# argument definitions.
#   scripts/release.sh stage DIR             builds, and writes the tree under DIR (bin/, share/)
#   scripts/release.sh install STAGE DESTDIR PREFIX   copies a staged tree, listing what it wrote
#   scripts/release.sh uninstall DESTDIR PREFIX       removes what that list names
#   scripts/release.sh dist                   .build/dist/swift-bpf-VERSION-ARCH-linux.tar.gz
# SWIFT (default swift) builds; the release build is `make release`'s.
set -eu
cd "$(dirname "$0")/.."
SWIFT=${SWIFT:-swift}
version=$(tr -d ' \r\n' < VERSION)
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
	[ -n "$tools" ] || { echo "release: swiftbpf --list listed no tools" >&2; exit 1; }
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

# Where install and uninstall write: DESTDIR and PREFIX, PREFIX absolute.
root_of() {
	case $2 in
	/*) ;;
	*) echo "release: PREFIX must be an absolute path, got '$2'" >&2; exit 2 ;;
	esac
	echo "$1$2"
}

# What a list may name: the release's own kinds of files, nothing else.
ours() {
	case $1 in
	*..*|/*) return 1 ;;
	bin/*/*|share/man/man8/*/*) return 1 ;;
	bin/?*|share/man/man8/?*.8|share/bash-completion/completions/?*|share/zsh/site-functions/_?*|share/fish/vendor_completions.d/?*.fish) return 0 ;;
	*) return 1 ;;
	esac
}

# Removes the files `list` names under `root`: plain files and links only,
# each in a directory that really is under `root` (not through a link
# out of it). Prints how many.
remove_listed() {
	root=$1 list=$2 real=$(cd "$1" && pwd -P) n=0
	while IFS= read -r f; do
		ours "$f" || continue
		dir=$(cd "$root/$(dirname "$f")" 2>/dev/null && pwd -P) || continue
		case $dir/ in "$real"/*) ;; *) continue ;; esac
		if [ -L "$dir/${f##*/}" ] || [ -f "$dir/${f##*/}" ]; then rm -f "$dir/${f##*/}" && n=$((n + 1)); fi
	done < "$list"
	echo "$n"
}

case ${1:-} in
stage)
	stage "$2"
	;;
install)
	from=$2
	root=$(root_of "$3" "$4")
	[ -x "$from/bin/swiftbpf" ] || { echo "install: no staged tree at $from" >&2; exit 1; }
	list="$root/share/swift-bpf/installed-files"
	new=$(files_of "$from" | grep -v -x -e LICENSE -e README.md)
	# Another package's file of the same name (bcc's execsnoop, say) is
	# not replaced: install refuses, naming it.
	for f in $new; do
		if { [ -e "$root/$f" ] || [ -L "$root/$f" ]; } && ! { [ -f "$list" ] && grep -q -x -F "$f" "$list"; }; then
			echo "install: $root/$f exists and is not swift-bpf's; remove it or choose another PREFIX" >&2
			exit 1
		fi
	done
	# A version installed before: its files go first.
	if [ -f "$list" ]; then remove_listed "$root" "$list" >/dev/null; fi
	mkdir -p "$root/share/swift-bpf"
	# The list is written before the files, so that an install cut short
	# can still be uninstalled.
	tmp=$(mktemp "$root/share/swift-bpf/.installed-files.XXXXXX")
	{ printf '%s\n' "$new"; echo share/swift-bpf/installed-files; } > "$tmp"
	mv "$tmp" "$list"
	cp -R -P "$from/bin" "$from/share" "$root/"
	echo "installed $(($(wc -l < "$list") - 1)) files under $root (listed in $list)"
	;;
uninstall)
	root=$(root_of "$2" "$3")
	list="$root/share/swift-bpf/installed-files"
	[ -f "$list" ] || { echo "uninstall: nothing installed under $root (no $list)" >&2; exit 1; }
	n=$(remove_listed "$root" "$list")
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
