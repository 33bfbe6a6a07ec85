import Foundation
import PkgLayerCore
import PkgLayerPublish
import PkgLayerTestSupport
import XCTest

/// Opt-in (`PKGLAYER_BENCH_PUBLISH=1`): publishes 200 small rpms, then one more, timed against
/// createrepo_c and `createrepo_c --update` on the same files, and prints the figures. No timed
/// assertions; scripts/bench/publish.sh is the same measurement through the CLI.
final class YumPublishBenchmarkTests: XCTestCase {
    func testPublishTwoHundredThenOne() throws {
        guard ProcessInfo.processInfo.environment["PKGLAYER_BENCH_PUBLISH"] == "1" else {
            throw XCTSkip("set PKGLAYER_BENCH_PUBLISH=1 to run the publish benchmark")
        }
        try requireTool("createrepo_c")
        let count = Int(ProcessInfo.processInfo.environment["PUBLISH_COUNT"] ?? "") ?? 200
        let scratch = try ScratchDirectory()
        let built = try scratch.makeDirectory("built")
        let rpms = try (1...count).map { try YumFixtures.rpm("bench-\($0)", "1.\($0)", in: built) }
        let extra = try YumFixtures.rpm("bench-extra", "1.0", in: try scratch.makeDirectory("extra"))
        let options = PublishOptions(sourceDateEpoch: SourceDateEpoch(YumFixtures.epoch))

        func time(_ body: () throws -> Void) rethrows -> Double {
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }
        var rows: [(String, Double, Double)] = []
        for run in 1...3 {
            let repo = URL(fileURLWithPath: scratch.path("pk\(run)"))
            let full = try time { try Publisher.publish(packages: rpms.map { URL(fileURLWithPath: $0) }, into: repo, options: options) }
            let add = try time { try Publisher.publish(packages: [URL(fileURLWithPath: extra)], into: repo, options: options) }
            let reference = try scratch.makeDirectory("cr\(run)/Packages")
            for rpm in rpms { _ = try TestProcess.runChecked("cp", ["-p", rpm, reference + "/"]) }
            let createrepo = try time { _ = try TestProcess.runChecked("createrepo_c", ["--no-database", scratch.path("cr\(run)")]) }
            _ = try TestProcess.runChecked("cp", ["-p", extra, reference + "/"])
            let update = try time { _ = try TestProcess.runChecked("createrepo_c", ["--no-database", "--update", scratch.path("cr\(run)")]) }
            rows.append(("run \(run)", full, createrepo))
            rows.append(("add \(run)", add, update))
        }
        func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
        let full = rows.filter { $0.0.hasPrefix("run") }, add = rows.filter { $0.0.hasPrefix("add") }
        let fp = median(full.map(\.1)), fc = median(full.map(\.2)), ap = median(add.map(\.1)), ac = median(add.map(\.2))
        print(String(format: "PUBLISH: %d rpms into a new repo: pkglayer %.3f s, createrepo_c %.3f s (ratio %.2f)", count, fp, fc, fp / fc))
        print(String(format: "PUBLISH: add 1 rpm to %d:         pkglayer %.3f s, createrepo_c --update %.3f s (ratio %.2f)", count, ap, ac, ap / ac))
    }
}
