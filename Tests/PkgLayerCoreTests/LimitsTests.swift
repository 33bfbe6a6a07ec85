import Foundation
import PkgLayerCore
import PkgLayerTestSupport
import XCTest

/// The limits' names, defaults and environment variables (docs/limits.md).
final class InputLimitsTests: XCTestCase {
    func testEnvironmentVariablesRaiseAndLowerLimits() {
        let limits = InputLimits.fromEnvironment([
            "PKGLAYER_MAX_ARCHIVE_ENTRIES": "2K",
            "PKGLAYER_MAX_EXTRACTED_BYTES": "128GiB",
            "PKGLAYER_MAX_RECIPE_BYTES": "4194304",
            "PKGLAYER_MAX_RPM_HEADER_BYTES": "1G",        // past rpm's own 256 MiB: lowered to it
            "PKGLAYER_MAX_YAML_DEPTH": "deep",            // unreadable: the default stays
            "PKGLAYER_MAX_OCI_LAYERS": "0",               // zero is not a limit
            "PKGLAYER_MAX_EXPANSION_RATIO": "0",          // but turns the ratio off
        ])
        XCTAssertEqual(limits[.archiveEntries], 2048)
        XCTAssertEqual(limits[.extractedBytes], 128 << 30)
        XCTAssertEqual(limits[.recipeBytes], 4 << 20)
        XCTAssertEqual(limits[.rpmHeaderBytes], 0x0FFF_FFFF)
        XCTAssertEqual(limits[.yamlDepth], 64)
        XCTAssertEqual(limits[.ociLayers], 1000)
        XCTAssertEqual(limits[.expansionRatio], 0)
        XCTAssertEqual(InputLimits.fromEnvironment([:]), InputLimits.defaults)
    }

    func testEveryLimitIsDocumented() throws {
        let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../docs/limits.md").standardized
        let text = try String(contentsOf: docs, encoding: .utf8)
        for name in InputLimits.Name.allCases {
            XCTAssertTrue(text.contains("`\(name.environmentVariable)`"), "\(name.environmentVariable) is not in docs/limits.md")
        }
        XCTAssertEqual(InputLimits.Name.recipeBytes.environmentVariable, "PKGLAYER_MAX_RECIPE_BYTES")
        XCTAssertEqual(InputLimits.Name.ociJSONBytes.environmentVariable, "PKGLAYER_MAX_OCI_JSON_BYTES")
        XCTAssertEqual(InputLimits.Name.registryResponseBytes.environmentVariable, "PKGLAYER_MAX_REGISTRY_RESPONSE_BYTES")
    }

    func testTheMessageSaysWhatWhereAndHowToRaiseIt() {
        let error = InputLimits.defaults.exceeded(.recipeBytes, "the recipe", actual: 3 << 20, at: "r.yml", hint: "check the file")
        XCTAssertEqual(error.code, .limitExceeded)
        XCTAssertEqual(error.description, """
            r.yml: the recipe is 3 MiB (3145728 bytes), past the limit of 1 MiB (1048576 bytes) on recipe and image files; \
            check the file. If it is genuine, raise the limit: PKGLAYER_MAX_RECIPE_BYTES=6291456 (docs/limits.md)
            """)
    }
}
