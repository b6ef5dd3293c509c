#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The kernel lane's other kernels, from Debian's archive: Debian 11's 5.10
# (bullseye) and Debian 13's 6.12 (trixie), each unpacked with dpkg -x
# into .build/kernels/SUITE (the image in boot/, its modules in
# lib/modules or usr/lib/modules, where virtme-ng finds them). apt reads a
# temporary source list and keeps its lists and downloads under
# .build/kernels/apt: the machine's own sources and package state are not
# touched. Prints each kernel image's path.
#   fetch-kernels.sh [SUITE...]   (default: bullseye trixie)
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD/.build/kernels
apt=$top/apt
suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(bullseye trixie)

image_of() { ls "$top/$1"/boot/vmlinuz-* 2>/dev/null | head -n 1; }

missing=()
for s in "${suites[@]}"; do [ -n "$(image_of "$s")" ] || missing+=("$s"); done
if [ ${#missing[@]} -gt 0 ]; then
    mkdir -p "$apt/lists/partial" "$apt/archives/partial"
    keyring=/usr/share/keyrings/debian-archive-keyring.gpg
    : >"$apt/sources.list"
    for s in "${missing[@]}"; do
        # The suite itself, not its security updates: its kernel changes
        # only at a point release, so the lane's kernels (and the built-in
        # BTF for them, scripts/btf-archive.sh) stay put between them.
        echo "deb [signed-by=$keyring] http://deb.debian.org/debian $s main" >>"$apt/sources.list"
    done
    opts=(-o Dir::Etc::sourcelist="$apt/sources.list" -o Dir::Etc::sourceparts=/nonexistent
          -o Dir::State::Lists="$apt/lists" -o Dir::Cache::Archives="$apt/archives"
          -o Dir::State::status=/dev/null -o APT::Sandbox::User=root -o Acquire::Languages=none)
    apt-get -qq "${opts[@]}" update
    for s in "${missing[@]}"; do
        # linux-image-amd64 of that suite names the versioned image package.
        version=$(apt-cache "${opts[@]}" show linux-image-amd64 2>/dev/null \
            | awk -v s="$s" '/^Package:/{v=""} /^Version:/{v=$2} /^Depends:/{print v" "$0}' \
            | sort -V | awk '{print}' | while read -r v rest; do
                  pkg=$(echo "$rest" | sed -n 's/.*\(linux-image-[0-9][^ ,]*-amd64\).*/\1/p')
                  echo "$v $pkg"
              done || true)
        case $s in
            bullseye) want='^5\.10\.' ;;
            bookworm) want='^6\.1\.' ;;
            trixie) want='^6\.12\.' ;;
            *) want='.' ;;
        esac
        pkg=$(echo "$version" | awk -v w="$want" '$1 ~ w {print $2}' | tail -n 1)
        if [ -z "$pkg" ]; then echo "fetch-kernels: no linux-image-amd64 in $s" >&2; exit 1; fi
        (cd "$apt/archives" && apt-get -qq "${opts[@]}" download "$pkg" >/dev/null)
        rm -rf "$top/$s.tmp" && mkdir -p "$top/$s.tmp"
        dpkg -x "$(ls "$apt/archives/${pkg}"_*.deb | sort -V | tail -n 1)" "$top/$s.tmp"
        rm -rf "$top/$s" && mv "$top/$s.tmp" "$top/$s"
        rm -f "$apt/archives/${pkg}"_*.deb
    done
fi
for s in "${suites[@]}"; do image_of "$s"; done
