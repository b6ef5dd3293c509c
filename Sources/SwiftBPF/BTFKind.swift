// SPDX-License-Identifier: BSD-2-Clause

/// The kinds of BTF type records (`BTF_KIND_*`), declared once for the
/// library and the skeleton generator.
public enum BTFKind: UInt16, Sendable {
    case unknown = 0, integer = 1, pointer = 2, array = 3, structure = 4, union = 5, enumeration = 6
    case forward = 7, typedef = 8, volatile = 9, const = 10, restrict = 11, function = 12
    case functionPrototype = 13, variable = 14, dataSection = 15, float = 16, declarationTag = 17
    case typeTag = 18, enumeration64 = 19

    /// Qualifiers and tags: the type they wrap is the type that matters.
    public var isModifier: Bool { [.volatile, .const, .restrict, .typeTag].contains(self) }
}
