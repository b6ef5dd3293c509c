// SPDX-License-Identifier: BSD-2-Clause

/// C names (snake_case) as Swift names (camelCase), avoiding keywords.
enum Naming {
    static let swiftKeywords: Set<String> = ["class", "struct", "enum", "protocol", "func", "var", "let", "in", "for", "while",
                                             "if", "else", "return", "switch", "case", "default", "import", "public", "private",
                                             "static", "self", "Self", "type", "init", "deinit", "extension", "operator", "is", "as"]

    static func camel(_ s: String, upperFirst: Bool) -> String {
        let parts = s.split(whereSeparator: { $0 == "_" || $0 == "-" || $0 == "." }).map(String.init)
        var out = ""
        for (i, p) in parts.enumerated() {
            if i == 0 && !upperFirst { out += p } else { out += p.prefix(1).uppercased() + p.dropFirst() }
        }
        if out.isEmpty { out = "_" }
        if out.first!.isNumber { out = "_" + out }
        return out
    }

    /// A Swift identifier for a C name: camelCase, keywords in backticks.
    static func identifier(_ s: String) -> String {
        let c = camel(s, upperFirst: false)
        return swiftKeywords.contains(c) ? "`\(c)`" : c
    }
}
