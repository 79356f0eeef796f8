import Foundation

/// The report's inline SVG charts: loss curves against tokens and against FLOPs (one pair per panel of
/// `ReportCurves`) and routing heatmaps. Every chart carries `class="chart"` and a `data-chart` name,
/// which the browser test uses to find it.
enum ReportCharts {
    /// Tableau's ten; past ten series, evenly spaced hues with alternating lightness and dashes, so
    /// the ablations never reuse a colour of the main runs.
    static let palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                          "#bcbd22", "#17becf"]

    /// The colour of series `i` of `n`.
    static func color(_ i: Int, of n: Int) -> String {
        if n <= palette.count { return palette[i] }
        let hue = Int((360 * Double(i) / Double(n)).rounded())
        return "hsl(\(hue),70%,\(i % 2 == 0 ? 38 : 55)%)"
    }

    /// The stroke dash pattern of series `i` of `n` (solid while the palette suffices).
    static func dash(_ i: Int, of n: Int) -> String? {
        n <= palette.count ? nil : ["", "6,3", "2,2"][i % 3].nilIfEmpty
    }

    /// Every panel as two charts side by side: loss against tokens, and against FLOPs.
    static func lossCurves(_ data: ReportData) -> String {
        let curves = ReportCurves(data)
        guard !curves.panels.isEmpty else { return "<p>No training runs.</p>\n" }
        return curves.panels.map { panel in
            "<h3>\(ReportRenderer.escape(panel.title))</h3>\n<div class=\"panel\">\n"
                + chart(panel, axis: "tokens", x: \.tokens) + chart(panel, axis: "FLOPs", x: \.flops) + "</div>\n"
        }.joined()
    }

    /// One loss chart of `panel` with x from `x`.
    static func chart(_ panel: ReportCurves.Panel, axis: String, x: KeyPath<ReportCurves.Point, Double>) -> String {
        let points = panel.series.flatMap(\.points)
        let losses = points.map(\.loss)
        let low = losses.min() ?? 0, high = max(losses.max() ?? 1, low + 1e-6)
        let xLow = points.map { $0[keyPath: x] }.min() ?? 0, xHigh = max(points.map { $0[keyPath: x] }.max() ?? 1, xLow * 1.000001 + 1e-9)
        let W = 420.0, H = 260.0, left = 50.0, bottom = 34.0, legend = 14.0 * Double(panel.series.count) + 8
        let px = { (v: Double) in left + (W - left - 10) * (v - xLow) / (xHigh - xLow) }
        let py = { (v: Double) in H - H * (v - low) / (high - low) }
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" data-chart=\"loss-\(panel.id)-\(axis.lowercased())\" "
            + "width=\"\(Int(W))\" height=\"\(Int(H + bottom + legend + 8))\" role=\"img\">\n<g transform=\"translate(0,8)\">\n"
        svg += "<rect x=\"\(left)\" y=\"0\" width=\"\(W - left - 10)\" height=\"\(H)\" fill=\"none\" stroke=\"#999\"/>\n"
        for tick in 0...4 {
            let f = Double(tick) / 4
            svg += "<text x=\"\(left - 4)\" y=\"\(fmt(H - H * f + 4))\" font-size=\"10\" text-anchor=\"end\">\(String(format: "%.2f", low + (high - low) * f))</text>\n"
            svg += "<text x=\"\(fmt(px(xLow + (xHigh - xLow) * f)))\" y=\"\(fmt(H + 12))\" font-size=\"9\" text-anchor=\"middle\">\(short(xLow + (xHigh - xLow) * f))</text>\n"
        }
        svg += "<text x=\"\(fmt((W + left) / 2))\" y=\"\(fmt(H + 26))\" font-size=\"11\" text-anchor=\"middle\">training \(axis) (whole lineage)</text>\n"
        let n = panel.series.count
        for (i, series) in panel.series.enumerated() {
            let color = color(i, of: n), dash = dash(i, of: n).map { " stroke-dasharray=\"\($0)\"" } ?? ""
            let coordinates = series.points.map { "\(fmt(px($0[keyPath: x]))),\(fmt(py($0.loss)))" }
            svg += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.5\"\(dash) points=\"\(coordinates.joined(separator: " "))\"/>\n"
            let y = H + bottom + 10 + 14 * Double(i)
            svg += "<line x1=\"\(left)\" y1=\"\(fmt(y - 4))\" x2=\"\(left + 20)\" y2=\"\(fmt(y - 4))\" stroke=\"\(color)\" stroke-width=\"2\"\(dash)/>"
            svg += "<text x=\"\(left + 26)\" y=\"\(fmt(y))\" font-size=\"11\">\(ReportRenderer.escape(series.label))</text>\n"
        }
        // NOTE: the group is shifted down 8 px so that the top tick label is not cut off.
        return svg + "</g>\n</svg>\n"
    }

    /// One heatmap per layer: rows domains, columns experts, cell = share of the domain's tokens.
    static func routingHeatmaps(_ row: ReportRow, domains: [String], index: Int) -> String {
        guard let layers = row.routing else { return "" }
        let cell = 44.0, labelW = 80.0, top = 34.0
        var out = ""
        for (l, layer) in layers.enumerated() {
            let E = row.routingExperts.count, D = domains.count
            var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" data-chart=\"routing-\(index)-\(l)\" "
                + "width=\"\(Int(labelW + cell * Double(E) + 4))\" height=\"\(Int(top + cell * Double(D) + 4))\" role=\"img\">\n"
            svg += "<text x=\"0\" y=\"12\" font-size=\"11\">layer \(l)</text>\n"
            for (e, name) in row.routingExperts.enumerated() {
                svg += "<text x=\"\(fmt(labelW + cell * (Double(e) + 0.5)))\" y=\"\(top - 6)\" font-size=\"10\" text-anchor=\"middle\">\(ReportRenderer.escape(name))</text>\n"
            }
            for (d, domain) in domains.enumerated() {
                let y = top + cell * Double(d)
                svg += "<text x=\"\(labelW - 4)\" y=\"\(fmt(y + cell / 2 + 4))\" font-size=\"10\" text-anchor=\"end\">\(ReportRenderer.escape(domain))</text>\n"
                for (e, f) in (layer[domain] ?? []).enumerated() where e < E {
                    let shade = Int(255 * (1 - min(1, max(0, f))))
                    svg += "<rect x=\"\(fmt(labelW + cell * Double(e)))\" y=\"\(fmt(y))\" width=\"\(cell)\" height=\"\(cell)\" fill=\"rgb(\(shade),\(shade),255)\" stroke=\"#fff\"/>"
                    svg += "<text x=\"\(fmt(labelW + cell * (Double(e) + 0.5)))\" y=\"\(fmt(y + cell / 2 + 4))\" font-size=\"10\" text-anchor=\"middle\">\(Int((100 * f).rounded()))</text>\n"
                }
            }
            out += svg + "</svg>\n"
        }
        return out
    }

    /// A tick label: 1.2k, 3.4M, 5.6G, 7.8T, 9.0P.
    static func short(_ x: Double) -> String {
        for (unit, scale) in [("E", 1e18), ("P", 1e15), ("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)] where abs(x) >= scale {
            return String(format: "%.1f%@", x / scale, unit)
        }
        return String(format: "%.0f", x)
    }

    private static func fmt(_ x: Double) -> String { String(format: "%.1f", x) }
}

private extension String {
    var nilIfEmpty: String? { isEmpty ? nil : self }
}
