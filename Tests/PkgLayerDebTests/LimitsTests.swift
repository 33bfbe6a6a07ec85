import Foundation
import PkgLayerCore
import PkgLayerDeb
import PkgLayerTestSupport
import XCTest

/// Hostile .debs (built here with Python, never committed) are refused with clear errors and leave
/// nothing in the staging directory (docs/limits.md).
final class DebLimitsTests: XCTestCase {
    /// Writes a .deb: `python3 -c script OUT JSON` where JSON may set `description_bytes` (padding
    /// in the control file's Description), `md5sums_bytes`, `data_entries` (empty files),
    /// `data_zeros_mib` (one file of zeros) and `forged_data_size` (the ar header's size of data.tar.gz).
    static let makeDeb = """
        import io, json, sys, tarfile
        out, spec = sys.argv[1], json.loads(sys.argv[2])
        def tgz(members):
            buf = io.BytesIO()
            with tarfile.open(fileobj=buf, mode='w:gz', format=tarfile.USTAR_FORMAT, compresslevel=1) as t:
                for name, data in members:
                    info = tarfile.TarInfo(name)
                    info.size = len(data)
                    t.addfile(info, io.BytesIO(data))
            return buf.getvalue()
        control = 'Package: hostile\\nVersion: 1.0\\nArchitecture: all\\nMaintainer: T <t@example.org>\\nDescription: test\\n'
        control += ''.join(' padding line %08d\\n' % i for i in range(spec.get('description_bytes', 0) // 23))
        members = [('./control', control.encode())]
        if 'md5sums_bytes' in spec:
            members.append(('./md5sums', b'0' * spec['md5sums_bytes']))
        data = [('./usr/share/hostile/f%07d' % i, b'') for i in range(spec.get('data_entries', 1))]
        if 'data_zeros_mib' in spec:
            data.append(('./usr/share/hostile/zeros', bytes(spec['data_zeros_mib'] << 20)))
        def member(name, content, size=None):
            size = len(content) if size is None else size
            header = name.ljust(16) + '0'.ljust(12) + '0'.ljust(6) + '0'.ljust(6) + '100644'.ljust(8) + str(size).ljust(10) + '`\\n'
            return header.encode() + content + (b'\\n' if len(content) % 2 else b'')
        with open(out, 'wb') as f:
            f.write(b'!<arch>\\n' + member('debian-binary', b'2.0\\n') + member('control.tar.gz', tgz(members))
                    + member('data.tar.gz', tgz(data), spec.get('forged_data_size')))
        """

    func makeDeb(_ spec: [String: Int], in scratch: ScratchDirectory, name: String = "hostile.deb") throws -> String {
        let path = scratch.path(name)
        let json = String(decoding: try JSONSerialization.data(withJSONObject: spec), as: UTF8.self)
        try generateWithPython(Self.makeDeb, [path, json])
        return path
    }

    func testTheGeneratedPackageIsReadable() throws {
        let scratch = try ScratchDirectory()
        let deb = try makeDeb(["data_entries": 3, "md5sums_bytes": 0], in: scratch)
        let read = try DebReader().read(path: deb, extractTo: scratch.path("staging"))
        XCTAssertEqual(read.spec.name, "hostile")
        XCTAssertEqual(contentsUnder(scratch.path("staging/usr/share/hostile"))?.count, 3)
    }

    func testAnOversizedControlFileIsRefused() throws {
        let scratch = try ScratchDirectory()
        let deb = try makeDeb(["description_bytes": 2 << 20], in: scratch)
        let staging = scratch.path("staging")
        let error = assertLimitExceeded(.debControlBytes, mentions: ["the control file is 2", "PKGLAYER_MAX_DEB_CONTROL_BYTES="]) {
            try DebReader().read(path: deb, extractTo: staging)
        }
        XCTAssertEqual(error?.location, "\(deb): control.tar member 'control'")
        XCTAssertNil(contentsUnder(staging))
    }

    func testControlFilesTogetherAreBounded() throws {
        let scratch = try ScratchDirectory()
        let deb = try makeDeb(["md5sums_bytes": 200 << 10], in: scratch)
        let staging = scratch.path("staging")
        InputLimits.$current.withValue(.lowered([.debControlTarBytes: 64 << 10])) {
            assertLimitExceeded(.debControlTarBytes, mentions: ["control.tar's files together", "'md5sums'"]) {
                try DebReader().read(path: deb, extractTo: staging)
            }
        }
        XCTAssertNil(contentsUnder(staging))
    }

    func testAnArMemberClaimingMoreThanTheFileHolds() throws {
        let scratch = try ScratchDirectory()
        let deb = try makeDeb(["forged_data_size": 1_000_000_000], in: scratch)
        let staging = scratch.path("staging")
        XCTAssertThrowsError(try DebReader().read(path: deb, extractTo: staging)) { error in
            XCTAssertEqual((error as? PkgLayerError)?.code, .deb, "\(error)")
            XCTAssertTrue("\(error)".contains("member 'data.tar.gz' claims 1000000000 bytes but only"), "\(error)")
        }
        XCTAssertNil(contentsUnder(staging))
    }

    func testTooManyDataMembersLeaveNothingStaged() throws {
        let scratch = try ScratchDirectory()
        let deb = try makeDeb(["data_entries": 3000], in: scratch)
        let staging = scratch.path("staging")
        let error = InputLimits.$current.withValue(.lowered([.archiveEntries: 1000])) {
            assertLimitExceeded(.archiveEntries, mentions: ["member count is 1001"]) { try DebReader().read(path: deb, extractTo: staging) }
        }
        XCTAssertEqual(error?.location, "\(deb): data.tar.gz: ./usr/share/hostile/f0001000")
        XCTAssertNil(contentsUnder(staging))
    }

    func testADataBombLeavesNothingStaged() throws {
        let scratch = try ScratchDirectory()
        let deb = try makeDeb(["data_entries": 10, "data_zeros_mib": 64], in: scratch)
        let staging = scratch.path("staging")
        InputLimits.$current.withValue(.lowered([.expansionFloorBytes: 1 << 20])) {
            assertLimitExceeded(.expansionRatio, mentions: ["member './usr/share/hostile/zeros' claims 64 MiB"]) {
                try DebReader().read(path: deb, extractTo: staging)
            }
        }
        XCTAssertNil(contentsUnder(staging))
    }
}
