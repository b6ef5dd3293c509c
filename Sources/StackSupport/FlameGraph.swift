// SPDX-License-Identifier: BSD-2-Clause
import Foundation
import ToolSupport

/// A flame graph as a self-contained SVG: one box per frame, as wide as
/// its share of the samples, callers below callees. In a browser, hovering
/// a box shows its name and share, clicking zooms to it (and "Reset zoom"
/// back), and "Search" highlights the frames whose names match and shows
/// their total share. Colours tell kernel, user and Swift runtime frames
/// apart.
public struct FlameGraph {
    public enum Kind: String, Sendable { case process, user, swiftRuntime = "swift", kernel }
    public struct Frame: Sendable {
        public var name: String
        public var kind: Kind
        public init(name: String, kind: Kind) {
            self.name = name
            self.kind = kind
        }
    }

    final class Node {
        let name: String
        let kind: Kind
        var total: UInt64 = 0
        var children: [String: Node] = [:]
        var order: [String] = []
        init(name: String, kind: Kind) {
            self.name = name
            self.kind = kind
        }
        func child(_ f: Frame) -> Node {
            if let c = children[f.name] { return c }
            let c = Node(name: f.name, kind: f.kind)
            children[f.name] = c
            order.append(f.name)
            return c
        }
    }

    public let title: String
    /// What a count is ("samples", "us").
    public let unit: String
    let root = Node(name: "all", kind: .process)
    var depth = 0

    public init(title: String, unit: String) {
        self.title = title
        self.unit = unit
    }

    /// Adds a stack, root first.
    public mutating func add(_ frames: [Frame], count: UInt64) {
        guard count > 0 else { return }
        var node = root
        node.total += count
        for f in frames {
            node = node.child(f)
            node.total += count
        }
        depth = max(depth, frames.count)
    }

    static let width = 1200.0, frameHeight = 16.0, top = 56.0, bottom = 24.0

    /// The document.
    public func svg() -> String {
        let levels = Double(depth + 1)
        let height = Self.top + levels * Self.frameHeight + Self.bottom
        var body = ""
        var id = 0
        // Depth-first, children alphabetically (as flamegraph.pl sorts).
        func place(_ node: Node, x: Double, level: Int, parent: Int) {
            let me = id
            id += 1
            let w = root.total == 0 ? 0 : Double(node.total) / Double(root.total)
            let y = Self.top + (levels - 1 - Double(level)) * Self.frameHeight
            let share = String(format: "%.2f", w * 100)
            let label = "\(node.name) (\(node.total) \(unit), \(share)%)"
            body += "<g class=\"f\" id=\"f\(me)\" data-x=\"\(x)\" data-w=\"\(w)\" data-l=\"\(level)\" data-p=\"\(parent)\" data-k=\"\(node.kind.rawValue)\">"
            body += "<title>\(Self.escape(label))</title>"
            body += "<rect x=\"\(x * Self.width)\" y=\"\(y)\" width=\"\(w * Self.width)\" height=\"\(Self.frameHeight - 1)\" fill=\"\(Self.colour(node))\" rx=\"2\"/>"
            body += "<text x=\"\(x * Self.width + 3)\" y=\"\(y + 11.5)\">\(Self.escape(Self.fit(node.name, width: w * Self.width)))</text>"
            body += "</g>\n"
            var cx = x
            for name in node.order.sorted() {
                let child = node.children[name]!
                place(child, x: cx, level: level + 1, parent: me)
                cx += root.total == 0 ? 0 : Double(child.total) / Double(root.total)
            }
        }
        place(root, x: 0, level: 0, parent: -1)
        return """
        <?xml version="1.0" standalone="no"?>
        <svg version="1.1" width="\(Int(Self.width))" height="\(Int(height))" viewBox="0 0 \(Int(Self.width)) \(Int(height))" \
        xmlns="http://www.w3.org/2000/svg" onload="init(evt)">
        <title>\(Self.escape(title))</title>
        <style>
        text { font-family: Verdana, sans-serif; font-size: 12px; fill: #000; }
        .f { cursor: pointer; } .f:hover rect { stroke: #000; stroke-width: 0.5; }
        #details, #matched { font-size: 12px; } .button { fill: #2050a0; cursor: pointer; }
        .hidden { display: none; } .match rect { fill: #e040e0 !important; }
        </style>
        <rect x="0" y="0" width="100%" height="100%" fill="#f8f8f0"/>
        <text x="\(Self.width / 2)" y="22" text-anchor="middle" style="font-size:17px">\(Self.escape(title))</text>
        <text id="reset" class="button hidden" x="10" y="42" onclick="unzoom()">Reset zoom</text>
        <text id="search" class="button" x="\(Self.width - 110)" y="42" onclick="search()">Search</text>
        <text id="matched" x="\(Self.width - 10)" y="\(height - 8)" text-anchor="end"></text>
        <text id="details" x="10" y="\(height - 8)"> </text>
        <g id="frames">
        \(body)</g>
        <script type="text/ecmascript"><![CDATA[
        \(Self.script)
        ]]></script>
        </svg>

        """
    }

    /// Zoom, details and search: a small script of our own.
    static let script = """
    var W = \(width), frames = [], details, matched;
    function init(evt) {
      details = document.getElementById("details");
      matched = document.getElementById("matched");
      frames = Array.prototype.slice.call(document.querySelectorAll("g.f"));
      frames.forEach(function (g) {
        g.fx = +g.getAttribute("data-x"); g.fw = +g.getAttribute("data-w");
        g.fl = +g.getAttribute("data-l"); g.name = g.querySelector("text").textContent;
        g.full = g.querySelector("title").textContent;
        g.label = g.full.replace(/ \\([^()]*\\)$/, "");
        g.addEventListener("mouseover", function () { details.textContent = g.full; });
        g.addEventListener("mouseout", function () { details.textContent = " "; });
        g.addEventListener("click", function () { zoom(g); });
      });
    }
    function fit(name, px) {
      var chars = Math.floor((px - 6) / 7);
      if (chars < 3) return "";
      return name.length <= chars ? name : name.substring(0, chars - 2) + "..";
    }
    function draw(g, x, w) {
      var r = g.querySelector("rect"), t = g.querySelector("text");
      r.setAttribute("x", x * W); r.setAttribute("width", w * W);
      t.setAttribute("x", x * W + 3); t.textContent = fit(g.label, w * W);
    }
    function zoom(target) {
      var x0 = target.fx, w0 = target.fw;
      frames.forEach(function (g) {
        var inside = g.fx >= x0 - 1e-9 && g.fx + g.fw <= x0 + w0 + 1e-9 && g.fl >= target.fl;
        var below = g.fl < target.fl && g.fx <= x0 + 1e-9 && g.fx + g.fw >= x0 + w0 - 1e-9;
        if (inside) { g.classList.remove("hidden"); draw(g, (g.fx - x0) / w0, g.fw / w0); }
        else if (below) { g.classList.remove("hidden"); draw(g, 0, 1); }
        else { g.classList.add("hidden"); }
      });
      document.getElementById("reset").classList.remove("hidden");
    }
    function unzoom() {
      frames.forEach(function (g) { g.classList.remove("hidden"); draw(g, g.fx, g.fw); });
      document.getElementById("reset").classList.add("hidden");
    }
    function search(term) {
      if (term === undefined) term = prompt("Search for (a regular expression):", "");
      if (term === null) return;
      var re, total = 0, spans = [];
      try { re = new RegExp(term); } catch (e) { matched.textContent = "bad expression"; return; }
      frames.forEach(function (g) {
        var hit = term !== "" && re.test(g.label);
        g.classList.toggle("match", hit);
        if (hit) spans.push([g.fx, g.fx + g.fw]);
      });
      // Matches nested in other matches count once.
      spans.sort(function (a, b) { return a[0] - b[0] || b[1] - a[1]; });
      var end = -1;
      spans.forEach(function (s) { if (s[0] >= end - 1e-12) { total += s[1] - s[0]; end = s[1]; } else if (s[1] > end) { total += s[1] - end; end = s[1]; } });
      matched.textContent = term === "" ? "" : "Matched: " + (total * 100).toFixed(1) + "%";
    }
    """

    /// A name cut to what fits in `width` pixels (about 7 per character).
    static func fit(_ name: String, width: Double) -> String {
        let chars = Int((width - 6) / 7)
        if chars < 3 { return "" }
        return name.count <= chars ? name : String(name.prefix(chars - 2)) + ".."
    }

    static func escape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(c)
            }
        }
        return out
    }

    /// Warm hues for user code, blue for the kernel, green for the Swift
    /// runtime, grey for the process boxes; varied by name so neighbours
    /// differ, and the same name always the same colour.
    static func colour(_ node: Node) -> String {
        var h: UInt32 = 2166136261
        for b in node.name.utf8 { h = (h ^ UInt32(b)) &* 16777619 }
        let v = Double(h % 1000) / 1000
        switch node.kind {
        case .process: return "rgb(\(200 + Int(v * 30)),\(200 + Int(v * 30)),\(200 + Int(v * 30)))"
        case .kernel: return "rgb(\(100 + Int(v * 50)),\(150 + Int(v * 50)),\(215 + Int(v * 40)))"
        case .swiftRuntime: return "rgb(\(80 + Int(v * 60)),\(190 + Int(v * 50)),\(80 + Int(v * 50)))"
        case .user: return "rgb(\(225 + Int(v * 30)),\(80 + Int(v * 110)),\(40 + Int(v * 40)))"
        }
    }
}
