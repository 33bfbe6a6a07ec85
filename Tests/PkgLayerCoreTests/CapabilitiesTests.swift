import Foundation
import PkgLayerCore
import PkgLayerTestSupport
import XCTest

/// File capabilities: the vfs_cap_data xattr and libcap's text, checked against the real setcap.
final class CapabilitiesTests: XCTestCase {
    /// Sets that vfs_cap_data can express (effective empty, or equal to permitted ∪ inheritable),
    /// written the way `text(fromXattr:)` writes them.
    static let representable = [
        "cap_net_bind_service=ep",
        "cap_chown,cap_net_raw=ep",
        "cap_kill=i",
        "cap_kill=ei",
        "cap_sys_admin=p",
        "cap_chown=ip",
        "cap_chown=ep cap_kill=eip",
        "cap_chown=ep cap_kill=ei",
        "cap_setgid,cap_setuid=p cap_sys_nice=i",
        // Bits above 31 live in the second 32-bit word.
        "cap_bpf,cap_checkpoint_restore=ep",
        "cap_chown,cap_syslog,cap_perfmon=eip",
    ]

    func testTextToXattrAndBackRoundTrips() throws {
        for text in Self.representable {
            let blob = try FileCapabilities.xattr(fromText: text, field: "caps")
            XCTAssertEqual(blob.count, 20, text)
            XCTAssertEqual(blob[3], 0x02, "revision 2: \(text)")
            XCTAssertEqual(try FileCapabilities.text(fromXattr: blob, path: "/f"), text)
        }
    }

    func testKnownBlobs() throws {
        // cap_net_bind_service (bit 10) permitted and effective.
        let bind: [UInt8] = [0x01, 0, 0, 0x02, 0x00, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        XCTAssertEqual(try FileCapabilities.xattr(fromText: "cap_net_bind_service=ep", field: "caps"), bind)
        XCTAssertEqual(try FileCapabilities.text(fromXattr: bind, path: "/f"), "cap_net_bind_service=ep")
        // libcap's other spellings mean the same set.
        XCTAssertEqual(try FileCapabilities.xattr(fromText: "cap_net_bind_service+ep", field: "caps"), bind)
        XCTAssertEqual(try FileCapabilities.xattr(fromText: "CAP_NET_BIND_SERVICE=pe", field: "caps"), bind)
        XCTAssertEqual(try FileCapabilities.xattr(fromText: "net_bind_service=ep", field: "caps"), bind)
        XCTAssertEqual(try FileCapabilities.xattr(fromText: "cap_net_bind_service,cap_kill=ep cap_kill-ep", field: "caps"), bind)
        // Revision 1 (32 bits only).
        let v1: [UInt8] = [0x00, 0, 0, 0x01, 0x20, 0, 0, 0, 0, 0, 0, 0]
        XCTAssertEqual(try FileCapabilities.text(fromXattr: v1, path: "/f"), "cap_kill=p")
    }

    func testRevision3BlobDecodes() throws {
        // Revision 3 adds a namespace root uid after the revision-2 fields.
        var blob: [UInt8] = [0x01, 0, 0, 0x03]
        blob += [0x00, 0x04, 0, 0]          // permitted: cap_net_bind_service
        blob += [0, 0, 0, 0]                // inheritable
        blob += [0x80, 0, 0, 0]             // permitted, high word: bit 39 cap_bpf
        blob += [0, 0, 0, 0]
        blob += [0xE8, 0x03, 0, 0]          // rootid 1000
        XCTAssertEqual(try FileCapabilities.text(fromXattr: blob, path: "/f"), "cap_net_bind_service,cap_bpf=ep")
    }

    func testMalformedBlobsAreErrors() {
        let short = XCTAssertThrowsPkgLayerError(try FileCapabilities.text(fromXattr: [0x01, 0, 0, 0x02, 0, 4, 0, 0], path: "/usr/bin/x"),
                                                 code: .invalidInput)
        XCTAssertEqual(short?.location, "/usr/bin/x")
        XCTAssertThrowsPkgLayerError(try FileCapabilities.text(fromXattr: [], path: "/f"), code: .invalidInput)
        // Revision 2 needs 20 bytes; 16 is truncated.
        let truncated = XCTAssertThrowsPkgLayerError(
            try FileCapabilities.text(fromXattr: [0x01, 0, 0, 0x02] + [UInt8](repeating: 0, count: 12), path: "/f"), code: .invalidInput)
        XCTAssertTrue(truncated?.message.contains("truncated") ?? false)
        XCTAssertThrowsPkgLayerError(try FileCapabilities.text(fromXattr: [0x01, 0, 0, 0x03] + [UInt8](repeating: 0, count: 12), path: "/f"),
                                     code: .invalidInput)
        XCTAssertThrowsPkgLayerError(try FileCapabilities.text(fromXattr: [0x01, 0, 0, 0x07] + [UInt8](repeating: 0, count: 16), path: "/f"),
                                     code: .invalidInput)
    }

    func testMalformedTextIsAnError() {
        XCTAssertEqual(XCTAssertThrowsPkgLayerError(try FileCapabilities.xattr(fromText: "cap_frobnicate=ep", field: "--caps"),
                                                    code: .invalidInput)?.location, "--caps")
        XCTAssertThrowsPkgLayerError(try FileCapabilities.xattr(fromText: "cap_chown", field: "f"), code: .invalidInput)
        XCTAssertThrowsPkgLayerError(try FileCapabilities.xattr(fromText: "cap_chown=ex", field: "f"), code: .invalidInput)
    }

    func testSetsTheXattrCannotHoldAreRefusedNotWidened() {
        // vfs_cap_data has one effective bit for the whole set: "cap_chown=p cap_kill=ep" would silently
        // make cap_chown effective too. libcap's setcap refuses such sets; so must we.
        for text in ["cap_chown=p cap_kill=ep", "cap_chown=ep cap_kill=i", "cap_kill=e"] {
            XCTAssertThrowsPkgLayerError(try FileCapabilities.xattr(fromText: text, field: "f"), code: .invalidInput, text)
        }
    }

    /// The text we produce is what rpm hands to libcap's cap_from_text at install time: setcap must accept
    /// it, and the xattr it writes must decode to the same text.
    func testLibcapAcceptsOurTextAndWritesWhatWeDecode() throws {
        let scratch = try ScratchDirectory(prefix: "pkglayer-caps")
        let target = try scratch.write("target", "x\n")
        try requireTool("setcap", "python3")
        let probe = try TestProcess.run("setcap", ["cap_net_bind_service=ep", target])
        try requireCondition(probe.succeeded, "setcap does not work here (needs root and a filesystem with security xattrs): \(probe.stderrText)")
        for text in Self.representable {
            try TestProcess.runChecked("setcap", ["-r", target])
            let set = try TestProcess.run("setcap", [text, target])
            XCTAssertTrue(set.succeeded, "setcap refused '\(text)': \(set.stderrText)")
            guard set.succeeded else { continue }
            XCTAssertEqual(try FileCapabilities.read(path: target), text)
            // And the blob libcap wrote is byte for byte the one we encode.
            let hex = try TestProcess.runChecked("python3", ["-c", "import os,sys; print(os.getxattr(sys.argv[1], 'security.capability').hex())", target])
            XCTAssertEqual(hex.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines),
                           try FileCapabilities.xattr(fromText: text, field: "caps").hexString, text)
        }
        try TestProcess.runChecked("setcap", ["-r", target])
        XCTAssertNil(try FileCapabilities.read(path: target))
    }

    func testReadingASymlinkDoesNotFollowIt() throws {
        let scratch = try ScratchDirectory(prefix: "pkglayer-caps")
        let target = try scratch.write("target", "x\n")
        let link = try scratch.symlink("link", to: target)
        try requireTool("setcap")
        let setcap = try TestProcess.run("setcap", ["cap_kill=ep", target])
        try requireCondition(setcap.succeeded, "setcap does not work here (needs root and a filesystem with security xattrs): \(setcap.stderrText)")
        XCTAssertEqual(try FileCapabilities.read(path: target), "cap_kill=ep")
        XCTAssertNil(try FileCapabilities.read(path: link))
    }
}
