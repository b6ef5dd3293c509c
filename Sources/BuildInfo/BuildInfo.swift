// SPDX-License-Identifier: BSD-2-Clause

/// What this build is: the release (the `VERSION` file) and the commit it
/// was built from, written by the BuildStamp plugin before every build
/// ("unknown" outside a git checkout, "-dirty" with uncommitted changes).
public enum BuildInfo {
    public static let version = stampedVersion
    public static let commit = stampedCommit

    /// `0.1.0 (commit 1beaa29c4e2f)`.
    public static var description: String { "\(version) (commit \(commit))" }
}
