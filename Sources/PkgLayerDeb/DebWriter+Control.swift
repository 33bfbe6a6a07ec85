import Foundation
import PkgLayerArchive
import PkgLayerCore

/// The Debian half of `spec.extras` and `spec.changelog`: extra control fields, a custom control
/// file, the debconf, shlibs and triggers members, the purge script, forced error checks, and
/// `/usr/share/doc/NAME/changelog.Debian.gz`.
extension DebWriter {
    // MARK: - control

    /// The control paragraph: the generated one (or `debCustomControl`, validated), then each
    /// `debFields` entry, replacing a field of the same name where there is one.
    static func controlParagraph(spec: PackageSpec, installedSizeKiB: UInt64) throws -> ControlParagraph {
        var p: ControlParagraph
        if let custom = spec.extras.debCustomControl {
            p = try ControlParagraph(parsing: custom, location: "--deb-custom-control")
            let missing = ["Package", "Version", "Architecture", "Maintainer", "Description"].filter { (p[$0] ?? "").isEmpty }
            guard missing.isEmpty else {
                throw PkgLayerError(.invalidInput, "the custom control file has no \(missing.joined(separator: ", ")) field; a binary package's control file needs Package, Version, Architecture, Maintainer and Description",
                                    at: "--deb-custom-control")
            }
        } else {
            p = try DebControl.paragraph(spec: spec, installedSizeKiB: installedSizeKiB)
        }
        try p.checkWritable(location: spec.extras.debCustomControl != nil ? "--deb-custom-control" : "control")
        for (name, value) in spec.extras.debFields {
            let text = try DebControl.fieldValue(value, field: name)
            var one = ControlParagraph()
            one.set(name, text)
            try one.checkWritable(location: "--deb-field")
            p.set(name, text)
        }
        return p
    }

    // MARK: - Control members

    /// The control.tar members beyond control, conffiles and md5sums: maintainer scripts (with the
    /// purge script and forced error checks), debconf's `config` and `templates`, `shlibs`, `triggers`.
    static func extraControlMembers(spec: PackageSpec, scripts: [DebScriptSlot: String]) throws -> [(name: String, mode: UInt32, text: String)] {
        let extras = spec.extras
        var scripts = scripts
        if let purge = extras.debAfterPurge, !purge.isEmpty {
            scripts[.postrm] = withPurge(scripts[.postrm], purge: purge)
        }
        if extras.debForceErrorChecks {
            scripts = scripts.mapValues(forceErrorChecks)
        }
        var members: [(name: String, mode: UInt32, text: String)] = []
        if let config = extras.debConfig, !config.isEmpty {
            members.append(("config", 0o755, extras.debForceErrorChecks ? forceErrorChecks(config) : config))
        }
        for slot in [DebScriptSlot.postinst, .postrm, .preinst, .prerm] {
            if let text = scripts[slot] { members.append((slot.rawValue, 0o755, text)) }
        }
        if let shlibs = extras.debShlibs, !shlibs.isEmpty { members.append(("shlibs", 0o644, terminated(shlibs))) }
        if let templates = extras.debTemplates, !templates.isEmpty { members.append(("templates", 0o644, terminated(templates))) }
        if !extras.debTriggers.isEmpty {
            for line in extras.debTriggers {
                let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
                let directives = ["interest", "interest-await", "interest-noawait", "activate", "activate-await", "activate-noawait"]
                guard words.count == 2, directives.contains(String(words[0])) else {
                    throw PkgLayerError(.invalidInput, "'\(line)' is not a dpkg trigger directive; write one of \(directives.joined(separator: ", ")) followed by a trigger name",
                                        at: "triggers")
                }
            }
            members.append(("triggers", 0o644, extras.debTriggers.map { $0 + "\n" }.joined()))
        }
        // --deb-meta-file: more members as written; a script (`#!`) is executable.
        let generated = Set(["control", "md5sums", "conffiles"] + members.map(\.name))
        for meta in extras.debMetaFiles {
            guard !meta.name.isEmpty, meta.name != ".", meta.name != "..",
                  meta.name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._+-".contains($0)) }) else {
                throw PkgLayerError(.invalidInput, "'\(meta.name)' is not a control-area member name (letters, digits and . _ + -)", at: "--deb-meta-file")
            }
            guard !generated.contains(meta.name), !members.contains(where: { $0.name == meta.name }) else {
                throw PkgLayerError(.invalidInput, "the control area already has a '\(meta.name)' member (pkglayer writes it from other options); give its content through those",
                                    at: "--deb-meta-file")
            }
            members.append((meta.name, meta.content.hasPrefix("#!") ? 0o755 : 0o644, meta.content))
        }
        return members
    }

    static func terminated(_ text: String) -> String { text.hasSuffix("\n") ? text : text + "\n" }

    /// `set -e` right after the `#!` line of a shell script (fpm's
    /// `--deb-maintainerscripts-force-errorchecks`); other interpreters are left as they are.
    static func forceErrorChecks(_ script: String) -> String {
        guard script.hasPrefix("#!") else { return "set -e\n" + script }
        // The `#!` line ends at the first LF scalar (as the kernel reads it; "\r\n" is one Character).
        let parts = script.unicodeScalars.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
            .map { String(String.UnicodeScalarView($0)) }
        guard isShell(parts[0]) else { return script }
        return parts[0] + "\nset -e\n" + (parts.count > 1 ? parts[1] : "")
    }

    static func isShell(_ shebangLine: String) -> Bool {
        let words = shebangLine.dropFirst(2).split(separator: " ").map(String.init)
        var program = words.first.map { $0.split(separator: "/").last.map(String.init) ?? $0 } ?? ""
        if program == "env" { program = words.dropFirst().first { !$0.hasPrefix("-") && !$0.contains("=") } ?? "" }
        return ["sh", "bash", "dash", "ksh", "zsh", "ash", "busybox"].contains(program)
    }

    /// A postrm that also runs `purge` when dpkg calls it with `purge` (after the removal on `dpkg -P`).
    static func withPurge(_ postrm: String?, purge: String) -> String {
        var delimiter = "PKGLAYER_PURGE_END"
        var n = 1
        while purge.components(separatedBy: "\n").contains(delimiter) { n += 1; delimiter = "PKGLAYER_PURGE_END_\(n)" }
        var interpreter = "sh -s --"
        if purge.hasPrefix("#!") {
            // Only the `#!` line, up to its first line break: nothing after it may reach the composed line.
            let line = SingleLine.firstLine(of: purge)
            let command = line.dropFirst(2).trimmingCharacters(in: .whitespaces)
            interpreter = isShell(line) ? "\(command) -s --" : "\(command) -"
        }
        let block = "pkglayer_after_purge() {\n\(interpreter) \"$@\" <<'\(delimiter)'\n\(terminated(purge))\(delimiter)\n}\n"
            + "if [ \"$1\" = purge ]; then pkglayer_after_purge \"$@\"; fi\n"
        guard let postrm else {
            return "#!/bin/sh\n# Composed by pkglayer: the purge script (--deb-after-purge).\nset -e\n" + block + "exit 0\n"
        }
        if postrm.hasSuffix("exit 0\n") {
            return String(postrm.dropLast("exit 0\n".count)) + block + "exit 0\n"
        }
        return terminated(postrm) + block
    }

    // MARK: - changelog.Debian.gz

    /// Where a .deb carries its Debian changelog.
    static func changelogPath(_ spec: PackageSpec) -> String { "/usr/share/doc/\(spec.name)/changelog.Debian.gz" }

    /// The changelog as a manifest entry, its gzip content written under `scratch`; nil when the spec
    /// has no changelog or the manifest already holds the path (the package's own file wins).
    static func changelogEntry(spec: PackageSpec, manifest: FileManifest, scratch: String) throws -> ManifestEntry? {
        guard !spec.changelog.isEmpty else { return nil }
        let path = changelogPath(spec)
        if manifest[path] != nil { return nil }
        let text = debianChangelog(spec)
        let memory = MemorySink()
        let gzip = try Compression.gzip(level: 9).makeSink(wrapping: memory, threads: 1)
        let bytes = Array(text.utf8)
        try bytes.withUnsafeBytes { try gzip.write($0) }
        try gzip.finish()
        let file = scratch + "/changelog.Debian.gz"
        guard FileManager.default.createFile(atPath: file, contents: Data(memory.bytes)) else {
            throw PkgLayerError.posix("create", path: file)
        }
        return ManifestEntry(path: path, kind: .file, mode: 0o644, mtime: spec.sourceDateEpoch.seconds, size: UInt64(memory.bytes.count),
                             sha256: Digest.sha256(memory.bytes).hex, sourcePath: file)
    }

    /// Debian's changelog format (deb-changelog(5)), newest entry first:
    ///
    ///     NAME (VERSION) UNRELEASED; urgency=medium
    ///
    ///       * change
    ///
    ///      -- Author <mail>  Tue, 14 Nov 2023 22:13:20 +0000
    static func debianChangelog(_ spec: PackageSpec) -> String {
        let entries = spec.changelog.enumerated().sorted { a, b in
            a.element.date != b.element.date ? a.element.date > b.element.date : a.offset < b.offset
        }.map(\.element)
        let fullVersion = DebVersion(spec: spec).description
        var out: [String] = []
        for entry in entries {
            var block = "\(spec.name) (\(entry.version ?? fullVersion)) UNRELEASED; urgency=medium\n\n"
            for line in SingleLine.lines(entry.text) {
                var item = line.trimmingCharacters(in: .whitespaces)
                if item.isEmpty { continue }
                if item.hasPrefix("- ") || item.hasPrefix("* ") { item = String(item.dropFirst(2)) }
                block += "  * \(item)\n"
            }
            block += "\n -- \(entry.author)  \(rfc2822(entry.date))\n"
            out.append(block)
        }
        return out.joined(separator: "\n")
    }

    /// `Tue, 14 Nov 2023 22:13:20 +0000`, in UTC and English whatever the locale.
    static func rfc2822(_ seconds: Int64) -> String {
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(days[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(parts.tm_year + 1900) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) +0000"
    }
}

extension DebControl {
    /// A field value as deb822 wants it: continuation lines start with a space, empty ones are ` .`.
    static func fieldValue(_ value: String, field: String) throws -> String {
        guard ControlParagraph.isFieldName(field) else {
            let shown = String(field.unicodeScalars.filter { !SingleLine.isForbidden($0) }).prefix(60)
            throw PkgLayerError(.invalidInput, "'\(shown)' is not a control field name (printable ASCII without spaces or ':', not starting with '#' or '-')", at: "--deb-field")
        }
        // Every kind of line break (CR, CR LF, U+2028, …) ends a line: each line becomes a continuation line.
        let lines = SingleLine.lines(value.trimmingCharacters(in: .newlines))
        guard let first = lines.first, !first.trimmingCharacters(in: .whitespaces).isEmpty || lines.count > 1 else {
            throw PkgLayerError(.invalidInput, "the field '\(field)' has no value", at: "--deb-field")
        }
        var out = first.trimmingCharacters(in: .whitespaces)
        for line in lines.dropFirst() {
            if line.trimmingCharacters(in: .whitespaces).isEmpty { out += "\n ."; continue }
            out += "\n" + (line.first == " " || line.first == "\t" ? line : " " + line)
        }
        return out
    }
}
