import CRPM
import Foundation
import PkgLayerCore

/// A tag number as librpm's header API takes it. librpm's tag constants import into Swift as
/// `rpmTag_e`/`rpmSigTag_e` values; these turn them into `rpmTagVal`.
@inline(__always) func tag(_ t: rpmTag_e) -> rpmTagVal { rpmTagVal(t.rawValue) }
@inline(__always) func tag(_ t: rpmSigTag_e) -> rpmTagVal { rpmTagVal(t.rawValue) }

/// The eight bytes that precede every header on disk (magic 8e ad e8, version 1, four reserved).
let rpmHeaderMagic: [UInt8] = [0x8E, 0xAD, 0xE8, 0x01, 0, 0, 0, 0]

/// Turns a librpm status (1 = success for the headerPut* family) into a typed error that says which
/// tag could not be stored.
func rpmCheck(_ ok: Int32, _ what: @autoclosure () -> String) throws {
    guard ok == 1 else {
        throw PkgLayerError(.rpm, "librpm refused to store \(what()); this is a bug in pkglayer's rpm writer, please report it")
    }
}

/// Owns one librpm `Header` and frees it when dropped. Only this room touches librpm.
final class RPMHeader {
    private(set) var raw: OpaquePointer

    init() {
        raw = headerNew()
    }

    /// Imports an on-disk header blob (starting at the index counts, without the 8-byte magic).
    /// librpm checks its structure (counts, offsets, region) before accepting it.
    init(importing blob: [UInt8], what: String, path: String) throws {
        let imported: OpaquePointer? = blob.withUnsafeBytes { buffer in
            headerImport(UnsafeMutableRawPointer(mutating: buffer.baseAddress!), UInt32(buffer.count),
                         headerImportFlags(HEADERIMPORT_COPY.rawValue))
        }
        guard let imported else {
            throw PkgLayerError(.rpm, "the \(what) is malformed (librpm cannot import it); the file is damaged or not an rpm", at: path)
        }
        raw = imported
    }

    deinit { headerFree(raw) }

    // MARK: Writing

    func put(_ t: rpmTagVal, string value: String) throws {
        try rpmCheck(headerPutString(raw, t, value), "tag \(t) = '\(value)'")
    }

    /// An i18n string (SUMMARY, DESCRIPTION, GROUP) in the "C" locale, as rpmbuild stores them; the
    /// first one also creates HEADERI18NTABLE = ["C"].
    func put(_ t: rpmTagVal, i18n value: String) throws {
        try rpmCheck(headerAddI18NString(raw, t, value, "C"), "i18n tag \(t)")
    }

    func put(_ t: rpmTagVal, strings values: [String]) throws {
        guard !values.isEmpty else { return }
        var cStrings = values.map { strdup($0) }
        defer { cStrings.forEach { free($0) } }
        let ok = cStrings.withUnsafeMutableBufferPointer { buffer -> Int32 in
            buffer.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: buffer.count) {
                headerPutStringArray(raw, t, $0, rpm_count_t(buffer.count))
            }
        }
        try rpmCheck(ok, "string array tag \(t) (\(values.count) values)")
    }

    func put(_ t: rpmTagVal, uint32 values: [UInt32]) throws {
        guard !values.isEmpty else { return }
        try rpmCheck(values.withUnsafeBufferPointer { headerPutUint32(raw, t, $0.baseAddress, rpm_count_t($0.count)) },
                     "uint32 tag \(t)")
    }

    func put(_ t: rpmTagVal, uint16 values: [UInt16]) throws {
        guard !values.isEmpty else { return }
        try rpmCheck(values.withUnsafeBufferPointer { headerPutUint16(raw, t, $0.baseAddress, rpm_count_t($0.count)) },
                     "uint16 tag \(t)")
    }

    func put(_ t: rpmTagVal, uint64 values: [UInt64]) throws {
        guard !values.isEmpty else { return }
        try rpmCheck(values.withUnsafeBufferPointer { headerPutUint64(raw, t, $0.baseAddress, rpm_count_t($0.count)) },
                     "uint64 tag \(t)")
    }

    func put(_ t: rpmTagVal, binary bytes: [UInt8]) throws {
        try rpmCheck(bytes.withUnsafeBufferPointer { headerPutBin(raw, t, $0.baseAddress, rpm_count_t($0.count)) },
                     "binary tag \(t)")
    }

    /// Removes a tag (to replace a generated value with one the user gave).
    func remove(_ t: rpmTagVal) {
        _ = headerDel(raw, t)
    }

    /// Stores a value with an explicit type through a raw rpmtd. The signature header needs this:
    /// its tag numbers overlap the main header's (1004 is SUMMARY there, MD5 here), and the typed
    /// helpers check values against the main header's tag table.
    func putRaw(_ t: rpmTagVal, type: rpmTagType_e, count: Int, _ data: UnsafeRawPointer) throws {
        var td = rpmtd_s()
        td.tag = rpm_tag_t(t)
        td.type = rpm_tagtype_t(type.rawValue)
        td.count = rpm_count_t(count)
        td.data = UnsafeMutableRawPointer(mutating: data)
        try rpmCheck(headerPut(raw, &td, headerPutFlags(HEADERPUT_DEFAULT.rawValue)), "signature tag \(t)")
    }

    /// Re-lays the header out as one contiguous region tagged `regionTag` (HEADERIMMUTABLE for the
    /// main header, HEADERSIGNATURES for the signature), exactly as rpmbuild does before writing.
    func reload(region regionTag: rpmTagVal) throws {
        guard let reloaded = headerReload(raw, regionTag) else {
            // headerReload has already freed the old header; keep `raw` valid for deinit.
            raw = headerNew()
            throw PkgLayerError(.rpm, "librpm could not lay out the header region \(regionTag)")
        }
        raw = reloaded
    }

    /// The header as it is written to disk: the 8-byte magic followed by the exported blob.
    func exportWithMagic() throws -> [UInt8] {
        var size: UInt32 = 0
        guard let blob = headerExport(raw, &size) else {
            throw PkgLayerError(.rpm, "librpm could not export the header")
        }
        defer { free(blob) }
        return rpmHeaderMagic + Array(UnsafeRawBufferPointer(start: blob, count: Int(size)))
    }

    // MARK: Reading

    func has(_ t: rpmTagVal) -> Bool { headerIsEntry(raw, t) != 0 }

    func string(_ t: rpmTagVal) -> String? {
        guard let value = headerGetString(raw, t) else { return nil }
        return String(cString: value)
    }

    func number(_ t: rpmTagVal) -> UInt64? {
        has(t) ? headerGetNumber(raw, t) : nil
    }

    /// Reads a tag through an rpmtd and hands it to `body`; nil when the tag is absent.
    private func withTagData<T>(_ t: rpmTagVal, _ body: (rpmtd) -> T) -> T? {
        guard let td = rpmtdNew() else { return nil }
        defer { rpmtdFreeData(td); rpmtdFree(td) }
        guard headerGet(raw, t, td, headerGetFlags(HEADERGET_MINMEM.rawValue)) == 1 else { return nil }
        return body(td)
    }

    func strings(_ t: rpmTagVal) -> [String] {
        withTagData(t) { td in
            var out: [String] = []
            out.reserveCapacity(Int(rpmtdCount(td)))
            rpmtdInit(td)
            while let s = rpmtdNextString(td) { out.append(String(cString: s)) }
            return out
        } ?? []
    }

    /// Any integer array (uint16, uint32, uint64) widened to UInt64.
    func numbers(_ t: rpmTagVal) -> [UInt64] {
        withTagData(t) { td in
            var out: [UInt64] = []
            out.reserveCapacity(Int(rpmtdCount(td)))
            rpmtdInit(td)
            while rpmtdNext(td) >= 0 { out.append(rpmtdGetNumber(td)) }
            return out
        } ?? []
    }

    func binary(_ t: rpmTagVal) -> [UInt8]? {
        withTagData(t) { td -> [UInt8]? in
            guard let data = td.pointee.data else { return nil }
            return Array(UnsafeRawBufferPointer(start: data, count: Int(td.pointee.count)))
        } ?? nil
    }
}
