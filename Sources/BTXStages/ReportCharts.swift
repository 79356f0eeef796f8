import Foundation

/// The report's inline SVG charts: training-loss curves and routing heatmaps.
enum ReportCharts {
    static let palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                          "#bcbd22", "#17becf"]

    /// One chart per training run of any row's lineage (each run once), loss against step.
    static func lossCurves(_ data: ReportData) -> String {
        let runs = TrainingHistory.merged(data.rows.map(\.history)).runs.filter { !$0.curve.isEmpty }
        guard !runs.isEmpty else { return "<p>No training runs.</p>\n" }
        let losses = runs.flatMap { $0.curve.map { $0[1] } }.filter(\.isFinite)
        let low = losses.min() ?? 0, high = max(losses.max() ?? 1, low + 1e-6)
        let W = 640.0, H = 320.0, left = 50.0, bottom = 30.0, right = 160.0
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(W + right))\" height=\"\(Int(H + bottom))\" role=\"img\">\n"
        svg += "<rect x=\"\(left)\" y=\"0\" width=\"\(W - left)\" height=\"\(H)\" fill=\"none\" stroke=\"#999\"/>\n"
        for tick in 0...4 {
            let v = low + (high - low) * Double(tick) / 4, y = H - H * Double(tick) / 4
            svg += "<text x=\"\(left - 4)\" y=\"\(fmt(y + 4))\" font-size=\"10\" text-anchor=\"end\">\(String(format: "%.2f", v))</text>\n"
        }
        svg += "<text x=\"\(fmt((W + left) / 2))\" y=\"\(fmt(H + 20))\" font-size=\"11\" text-anchor=\"middle\">step (fraction of each run)</text>\n"
        for (i, run) in runs.enumerated() {
            let color = palette[i % palette.count], last = max(1, run.curve.last?[0] ?? 1)
            let points = run.curve.filter { $0[1].isFinite }.map { p in
                "\(fmt(left + (W - left) * p[0] / last)),\(fmt(H - H * (p[1] - low) / (high - low)))"
            }
            svg += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.5\" points=\"\(points.joined(separator: " "))\"/>\n"
            svg += "<text x=\"\(fmt(W + 8))\" y=\"\(14 + 14 * i)\" font-size=\"11\" fill=\"\(color)\">\(ReportRenderer.escape(run.stage))</text>\n"
        }
        return svg + "</svg>\n"
    }

    /// One heatmap per layer: rows domains, columns experts, cell = share of the domain's tokens.
    static func routingHeatmaps(_ row: ReportRow, domains: [String]) -> String {
        guard let layers = row.routing else { return "" }
        let cell = 44.0, labelW = 80.0, top = 34.0
        var out = ""
        for (l, layer) in layers.enumerated() {
            let E = row.routingExperts.count, D = domains.count
            var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(labelW + cell * Double(E) + 4))\" height=\"\(Int(top + cell * Double(D) + 4))\" role=\"img\">\n"
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

    private static func fmt(_ x: Double) -> String { String(format: "%.1f", x) }
}
