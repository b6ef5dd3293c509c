// SPDX-License-Identifier: BSD-2-Clause

/// Flags named bit by bit, as the tools print a call's flags argument.
public enum FlagNames {
    /// The names of the entries of `table` (in its order) whose bits are
    /// all set in `value`, and the bits no entry named.
    public static func split<T: FixedWidthInteger>(_ value: T, _ table: [(T, String)]) -> (names: [String], rest: T) {
        var rest = value, names: [String] = []
        for (bits, name) in table where bits != 0 && rest & bits == bits {
            names.append(name)
            rest &= ~bits
        }
        return (names, rest)
    }
}
