@testable import BTXStages
import BTXStore
import Foundation
import TestSupport
import XCTest

/// `report.html` rendered by headless Chromium (Debian's `chromium`, installed by `make test`): no
/// console messages, every chart laid out on the page, and every chart drawn: rendered by the
/// browser into a canvas, it holds coloured pixels (curves, heatmap cells), not just a frame and labels.
final class ReportBrowserTests: XCTestCase {
    /// A run of `steps` steps whose loss falls from `from` to `to`.
    private func run(_ stage: String, tokens: Int, flops: Double, from: Double, to: Double) -> TrainingHistory.Run {
        let curve = (0..<20).map { s in [Double(s * 5), from + (to - from) * Double(s) / 19] }
        return TrainingHistory.Run(stage: stage, steps: 100, tokens: tokens, flops: flops, curve: curve)
    }

    /// Seed, two experts, dense, upcycling, BTX with routing and nine ablations (more series than the palette).
    private func data() -> ReportData {
        let seed = run("seed", tokens: 1000, flops: 1e12, from: 7, to: 4)
        let code = run("expert[code]", tokens: 1000, flops: 1e12, from: 4, to: 3)
        let math = run("expert[math]", tokens: 1000, flops: 1e12, from: 4, to: 2.8)
        let btx = TrainingHistory(runs: [seed, code, math, run("finetune", tokens: 500, flops: 1e12, from: 3.2, to: 2.6)])
        var rows = [
            ReportRow(name: "seed", role: "seed", losses: ["code": 4, "math": 4], flops: 1e12, history: TrainingHistory(runs: [seed])),
            ReportRow(name: "expert code", role: "expert", expertDomain: "code", losses: ["code": 3, "math": 4.2], flops: 2e12,
                      history: TrainingHistory(runs: [seed, code])),
            ReportRow(name: "expert math", role: "expert", expertDomain: "math", losses: ["code": 4.2, "math": 2.8], flops: 2e12,
                      history: TrainingHistory(runs: [seed, math])),
            ReportRow(name: "dense", role: "dense", losses: ["code": 3.3, "math": 3.1], flops: 4e12,
                      history: TrainingHistory(runs: [seed, run("dense", tokens: 2500, flops: 3e12, from: 4, to: 3.1)])),
            ReportRow(name: "upcycling", role: "upcycling", losses: ["code": 3.1, "math": 3.0], flops: 4e12,
                      history: TrainingHistory(runs: [seed, run("upcycle-ft", tokens: 1500, flops: 3e12, from: 4, to: 3)])),
            ReportRow(name: "BTX", role: "btx", losses: ["code": 2.9, "math": 2.7], flops: 4e12,
                      routing: [["code": [0.8, 0.2], "math": [0.1, 0.9]], ["code": [0.6, 0.4], "math": [0.3, 0.7]]],
                      routingExperts: ["code", "math"], history: btx),
        ]
        for k in 0..<9 {
            rows.append(ReportRow(name: "ablation \(k)", role: "variant", losses: ["code": 3, "math": 3], flops: 4e12,
                                  history: TrainingHistory(runs: [seed, code, math,
                                                                  run("ft\(k)", tokens: 500, flops: 1e12, from: 3.2, to: 2.5 + 0.05 * Double(k))])))
        }
        return ReportData(title: "browser check", domains: ["code", "math"], rows: rows)
    }

    /// Appended to the page for the test only: draws each chart (as the browser renders its SVG) into
    /// a canvas, counts strongly coloured pixels (curves, heatmap cells; not the grey frame and black
    /// labels) and writes each chart's name, box and coloured share into the DOM for `--dump-dom`.
    private static let probe = """
    <script>(async () => {
      const out = [];
      for (const e of document.querySelectorAll('.chart')) {
        const r = e.getBoundingClientRect(), img = new Image();
        img.src = 'data:image/svg+xml;charset=utf-8,' + encodeURIComponent(new XMLSerializer().serializeToString(e));
        await img.decode();
        const c = document.createElement('canvas'); c.width = Math.ceil(r.width); c.height = Math.ceil(r.height);
        const g = c.getContext('2d'); g.fillStyle = '#fff'; g.fillRect(0, 0, c.width, c.height); g.drawImage(img, 0, 0);
        const d = g.getImageData(0, 0, c.width, c.height).data; let colored = 0;
        for (let i = 0; i < d.length; i += 4) if (Math.max(d[i], d[i+1], d[i+2]) - Math.min(d[i], d[i+1], d[i+2]) > 60) colored++;
        out.push([e.dataset.chart, r.x, r.y, r.width, r.height, colored / (c.width * c.height)]);
      }
      document.body.insertAdjacentHTML('beforeend', '<pre id="chart' + 'boxes">' + JSON.stringify(out) + '</pre>');
    })();</script>
    """

    private func chromium() throws -> String {
        for path in ["/usr/bin/chromium", "/usr/bin/chromium-browser"] where FileManager.default.isExecutableFile(atPath: path) {
            return path
        }
        let why = "Debian's chromium is not installed (make test installs it)"
        if ReferencePython.required { throw BrowserMissing(why: why) }
        throw XCTSkip("SKIPPED: \(why)")
    }

    func testReportRendersInChromiumWithoutConsoleErrorsAndEveryChartDrawn() throws {
        let browser = try chromium()
        let dir = try TemporaryDirectory()
        let page = dir.path("report.html")
        let html = ReportRenderer.html(data())
        try html.replacingOccurrences(of: "</body>", with: Self.probe + "</body>").write(toFile: page, atomically: true, encoding: .utf8)
        let result = try runProcess(URL(fileURLWithPath: "/usr/bin/timeout"), [
            "60", browser, "--headless=new", "--no-sandbox", "--disable-gpu", "--force-device-scale-factor=1", "--hide-scrollbars",
            "--window-size=1200,1600", "--enable-logging=stderr", "--v=0", "--virtual-time-budget=10000",
            "--user-data-dir=\(dir.path("profile"))", "--dump-dom", "file://\(page)",
        ])
        XCTAssertEqual(result.status, 0, result.stderr)
        let console = result.stderr.split(separator: "\n").filter { $0.contains(":CONSOLE") }
        XCTAssertEqual(console, [], "the page logged to the console")
        guard let start = result.stdout.range(of: "<pre id=\"chartboxes\">"),
              let end = result.stdout.range(of: "</pre>", range: start.upperBound..<result.stdout.endIndex) else {
            return XCTFail("no chart boxes in the DOM (did the probe run?): \(result.stdout.suffix(300))")
        }
        let charts = (try JSONValue.parse(Data(result.stdout[start.upperBound..<end.lowerBound].utf8)).arrayValue ?? [])
            .compactMap(\.arrayValue)
        XCTAssertEqual(charts.compactMap { $0.first?.stringValue },
                       ["loss-seed-experts-tokens", "loss-seed-experts-flops", "loss-matched-compute-tokens",
                        "loss-matched-compute-flops", "routing-5-0", "routing-5-1"])
        for chart in charts where chart.count == 6 {
            let name = chart[0].stringValue ?? "?"
            XCTAssertGreaterThan(chart[3].doubleValue ?? 0, 100, "\(name) has no width on the page")
            XCTAssertGreaterThan(chart[5].doubleValue ?? 0, 0.005, "\(name) is drawn blank (no coloured pixels)")
        }
    }

    func testPaletteStaysDistinctPastTenSeries() {
        let colors = (0..<19).map { ReportCharts.color($0, of: 19) }
        XCTAssertEqual(Set(colors).count, 19)
        XCTAssertEqual((0..<10).map { ReportCharts.color($0, of: 10) }, ReportCharts.palette)
    }
}

/// The browser check could not run where it must (`BTXPIPE_REQUIRE_REFERENCE=1`, as under `make test`).
private struct BrowserMissing: Error, CustomStringConvertible {
    let why: String
    var description: String { "browser check cannot run: \(why)" }
}
