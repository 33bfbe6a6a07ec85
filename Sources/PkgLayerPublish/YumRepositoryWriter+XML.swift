import Foundation
import PkgLayerRPM

/// The XML of yum's metadata, element for element as createrepo_c writes it (the schema dnf's libsolv
/// and librepo read): `primary.xml`, `filelists.xml`, `other.xml` and `repomd.xml`.
enum YumXML {
    /// createrepo_c's "primary" file subset: what dependency resolution needs without filelists.
    static func isPrimaryFile(_ path: String) -> Bool {
        path.hasPrefix("/etc/") || path == "/usr/lib/sendmail" || path.contains("bin/")
    }

    static func primary(_ package: PublishedPackage) -> String {
        let p = package.rpm!
        var x = "<package type=\"rpm\">\n"
        x += "  <name>\(text(p.name))</name>\n"
        x += "  <arch>\(text(p.arch))</arch>\n"
        x += "  <version epoch=\"\(attr(p.epoch))\" ver=\"\(attr(p.version))\" rel=\"\(attr(p.release))\"/>\n"
        x += "  <checksum type=\"sha256\" pkgid=\"YES\">\(package.sha256)</checksum>\n"
        x += "  <summary>\(text(p.summary))</summary>\n"
        x += "  <description>\(text(p.description))</description>\n"
        x += "  <packager>\(text(p.packager))</packager>\n"
        x += "  <url>\(text(p.url))</url>\n"
        // The file time is the build time, not the copy's mtime, so the metadata does not depend on when
        // or where the package was copied (the publisher sets the file's mtime to it as well).
        x += "  <time file=\"\(package.buildTime)\" build=\"\(p.buildTime)\"/>\n"
        x += "  <size package=\"\(package.size)\" installed=\"\(p.installedSize)\" archive=\"\(p.archiveSize)\"/>\n"
        x += "  <location href=\"\(attr(package.path))\"/>\n"
        x += "  <format>\n"
        x += "    <rpm:license>\(text(p.license))</rpm:license>\n"
        x += "    <rpm:vendor>\(text(p.vendor))</rpm:vendor>\n"
        x += "    <rpm:group>\(text(p.group))</rpm:group>\n"
        x += "    <rpm:buildhost>\(text(p.buildHost))</rpm:buildhost>\n"
        x += "    <rpm:sourcerpm>\(text(p.sourceRPM))</rpm:sourcerpm>\n"
        x += "    <rpm:header-range start=\"\(p.headerStart)\" end=\"\(p.headerEnd)\"/>\n"
        for (element, rows) in [("provides", p.provides), ("requires", p.requires), ("conflicts", p.conflicts),
                                ("obsoletes", p.obsoletes), ("suggests", p.suggests), ("enhances", p.enhances),
                                ("recommends", p.recommends), ("supplements", p.supplements)] where !rows.isEmpty {
            x += "    <rpm:\(element)>\n"
            for row in rows { x += "      " + entry(row, withPre: element == "requires") + "\n" }
            x += "    </rpm:\(element)>\n"
        }
        for file in p.files where isPrimaryFile(file.path) {
            x += "    " + fileElement(file) + "\n"
        }
        x += "  </format>\n</package>\n"
        return x
    }

    static func filelists(_ package: PublishedPackage) -> String {
        let p = package.rpm!
        var x = "<package pkgid=\"\(package.sha256)\" name=\"\(attr(p.name))\" arch=\"\(attr(p.arch))\">\n"
        x += "  <version epoch=\"\(attr(p.epoch))\" ver=\"\(attr(p.version))\" rel=\"\(attr(p.release))\"/>\n"
        for file in p.files { x += "  " + fileElement(file) + "\n" }
        x += "</package>\n"
        return x
    }

    /// Changelogs oldest first, at most `changelogLimit` of the newest.
    static func other(_ package: PublishedPackage, changelogLimit: Int) -> String {
        let p = package.rpm!
        var x = "<package pkgid=\"\(package.sha256)\" name=\"\(attr(p.name))\" arch=\"\(attr(p.arch))\">\n"
        x += "  <version epoch=\"\(attr(p.epoch))\" ver=\"\(attr(p.version))\" rel=\"\(attr(p.release))\"/>\n"
        for change in p.changelogs.prefix(changelogLimit).reversed() {
            x += "  <changelog author=\"\(attr(change.author))\" date=\"\(change.date)\">\(text(change.text))</changelog>\n"
        }
        x += "</package>\n"
        return x
    }

    static func repomd(_ files: [YumRepositoryWriter.DataFile], revision: Int64, timestamp: Int64) -> String {
        var x = #"<?xml version="1.0" encoding="UTF-8"?>"# + "\n"
        x += #"<repomd xmlns="http://linux.duke.edu/metadata/repo" xmlns:rpm="http://linux.duke.edu/metadata/rpm">"# + "\n"
        x += "  <revision>\(revision)</revision>\n"
        for file in files {
            x += "  <data type=\"\(file.type)\">\n"
            x += "    <checksum type=\"sha256\">\(file.checksum)</checksum>\n"
            x += "    <open-checksum type=\"sha256\">\(file.openChecksum)</open-checksum>\n"
            x += "    <location href=\"\(attr(file.location))\"/>\n"
            x += "    <timestamp>\(timestamp)</timestamp>\n"
            x += "    <size>\(file.size)</size>\n"
            x += "    <open-size>\(file.openSize)</open-size>\n"
            x += "  </data>\n"
        }
        x += "</repomd>\n"
        return x
    }

    private static func entry(_ row: RPMRepositoryEntry.Relation, withPre: Bool) -> String {
        var x = "<rpm:entry name=\"\(attr(row.name))\""
        if let flags = row.flags {
            x += " flags=\"\(flags)\""
            if let epoch = row.epoch { x += " epoch=\"\(attr(epoch))\"" }
            if let version = row.version { x += " ver=\"\(attr(version))\"" }
            if let release = row.release { x += " rel=\"\(attr(release))\"" }
        }
        if withPre && row.pre { x += " pre=\"1\"" }
        return x + "/>"
    }

    private static func fileElement(_ file: RPMRepositoryEntry.File) -> String {
        switch file.kind {
        case .file: return "<file>\(text(file.path))</file>"
        case .dir: return "<file type=\"dir\">\(text(file.path))</file>"
        case .ghost: return "<file type=\"ghost\">\(text(file.path))</file>"
        }
    }

    /// Character data: `&`, `<`, `>` escaped; characters XML 1.0 forbids (most C0 controls, lone
    /// surrogates, U+FFFE/U+FFFF) dropped, as createrepo_c drops them.
    static func text(_ s: String) -> String { escape(s, quotes: false) }

    /// Attribute values: also `"` escaped.
    static func attr(_ s: String) -> String { escape(s, quotes: true) }

    private static func escape(_ s: String, quotes: Bool) -> String {
        if !s.unicodeScalars.contains(where: { needsWork($0, quotes: quotes) }) { return s }
        var out = String.UnicodeScalarView()
        for scalar in s.unicodeScalars {
            switch scalar {
            case "&": out.append(contentsOf: "&amp;".unicodeScalars)
            case "<": out.append(contentsOf: "&lt;".unicodeScalars)
            case ">": out.append(contentsOf: "&gt;".unicodeScalars)
            case "\"" where quotes: out.append(contentsOf: "&quot;".unicodeScalars)
            case "\n" where quotes: out.append(contentsOf: "&#10;".unicodeScalars)
            case "\t" where quotes: out.append(contentsOf: "&#9;".unicodeScalars)
            default:
                if isAllowed(scalar) { out.append(scalar) }
            }
        }
        return String(out)
    }

    private static func needsWork(_ c: Unicode.Scalar, quotes: Bool) -> Bool {
        c == "&" || c == "<" || c == ">" || (quotes && (c == "\"" || c == "\n" || c == "\t")) || !isAllowed(c)
    }

    private static func isAllowed(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x9, 0xA, 0xD: return true
        case 0x20...0xD7FF, 0xE000...0xFFFD, 0x10000...0x10FFFF: return true
        default: return false
        }
    }
}
