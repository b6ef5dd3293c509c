// SPDX-License-Identifier: BSD-2-Clause
import Foundation
import PackagePlugin

/// Writes Stamp.swift (the version and the git commit) before every build,
/// and only when it changed, so that an unchanged stamp rebuilds nothing.
@main
struct BuildStamp: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let out = context.pluginWorkDirectoryURL.appending(path: "stamp")
        let root = context.package.directoryURL.path
        let script = """
            set -u
            mkdir -p "$1"
            version=$(tr -d ' \\r\\n' < "$2/VERSION" 2>/dev/null); [ -n "$version" ] || version=unknown
            case $version in *[!0-9A-Za-z.+~-]*) echo "VERSION: '$version' is not a version (digits, letters, . + ~ -)" >&2; exit 1 ;; esac
            # The commit of this package's own checkout, not of one around it.
            commit=unknown
            if [ "$(git -C "$2" rev-parse --show-toplevel 2>/dev/null)" = "$(cd "$2" && pwd -P)" ]; then
                commit=$(git -C "$2" rev-parse --short=12 HEAD 2>/dev/null) || commit=unknown
            fi
            if [ "$commit" != unknown ] && ! git -C "$2" diff --quiet HEAD -- 2>/dev/null; then commit="$commit-dirty"; fi
            new=$(printf 'let stampedVersion = "%s"\\nlet stampedCommit = "%s"\\n' "$version" "$commit")
            [ "$(cat "$1/Stamp.swift" 2>/dev/null)" = "$new" ] || printf '%s\\n' "$new" > "$1/Stamp.swift"
            """
        return [.prebuildCommand(
            displayName: "Stamping the version and commit",
            executable: URL(fileURLWithPath: "/bin/sh"),
            arguments: ["-c", script, "stamp", out.path, root],
            outputFilesDirectory: out
        )]
    }
}
