import Foundation
import PkgLayerCore

/// fpm's options for what only one format can say, onto `spec.extras` and `spec.changelog`.
extension PackageJob {
    func applyExtras(to spec: inout PackageSpec) throws {
        let rpm = request.rpm, deb = request.deb
        // rpm
        if let os = rpm.os { spec.extras.rpmOS = os }
        if let digest = rpm.digest {
            guard let algorithm = FileDigestAlgorithm(rawValue: digest.lowercased()) else {
                throw PkgLayerError(.usage, "unknown digest '\(digest)'; use md5, sha1, sha256, sha384 or sha512", at: "--rpm-digest")
            }
            spec.extras.rpmFileDigest = algorithm
        }
        spec.extras.rpmTags += try rpm.tags.map { try Self.nameValue($0, flag: "--rpm-tag") }
        if let file = rpm.verifyScript { spec.extras.rpmVerifyScript = try readText(file, flag: "--rpm-verifyscript") }
        for (kind, value) in rpm.triggers { spec.extras.rpmTriggers.append(try trigger(kind, value)) }
        if let file = rpm.changelog {
            spec.changelog = try Self.parseRPMChangelog(readText(file, flag: "--rpm-changelog"), file: file)
        }
        // deb
        spec.extras.debFields += try deb.fields.map { try Self.nameValue($0, flag: "--deb-field") }
        if !deb.buildDepends.isEmpty {
            let deps = try deb.buildDepends.flatMap { try DependencyList.parse($0, field: "--deb-build-depends") }
            let value = deps.map { dep in
                dep.alternatives.map { c in
                    if let op = c.versionOperator, let v = c.version { return "\(c.name) (\(op.deb) \(v))" }
                    return c.name
                }.joined(separator: " | ")
            }.joined(separator: ", ")
            spec.extras.debFields.append((name: "Build-Depends", value: value))
        }
        if let file = deb.customControl { spec.extras.debCustomControl = try readText(file, flag: "--deb-custom-control") }
        if let file = deb.config { spec.extras.debConfig = try readText(file, flag: "--deb-config") }
        if let file = deb.templates { spec.extras.debTemplates = try readText(file, flag: "--deb-templates") }
        if let shlibs = deb.shlibs { spec.extras.debShlibs = shlibs.replacingOccurrences(of: "\\n", with: "\n") }
        spec.extras.debTriggers += deb.interest.map { "interest \($0)" } + deb.activate.map { "activate \($0)" }
            + deb.interestNoawait.map { "interest-noawait \($0)" } + deb.activateNoawait.map { "activate-noawait \($0)" }
        if let file = deb.afterPurge { spec.extras.debAfterPurge = try readText(file, flag: "--deb-after-purge") }
        if let size = deb.installedSize {
            guard let kib = UInt64(size) else {
                throw PkgLayerError(.usage, "'\(size)' is not a size in KiB (a whole number)", at: "--deb-installed-size")
            }
            spec.extras.debInstalledSizeKiB = kib
        }
        spec.extras.debForceErrorChecks = spec.extras.debForceErrorChecks || deb.maintainerScriptsForceErrorChecks
        for file in deb.metaFiles {
            spec.extras.debMetaFiles.append((name: (file as NSString).lastPathComponent, content: try readText(file, flag: "--deb-meta-file")))
        }
        if deb.dist != nil && !deb.generateChanges { logger.warning("--deb-dist: \(Self.noEffectReason("--deb-dist"))") }
        // Modifiers given without what they modify.
        if deb.systemd.isEmpty {
            let defaults = DebOptions()
            let given = [("--deb-systemd-path", deb.systemdPath != defaults.systemdPath), ("--deb-systemd-enable", deb.systemdEnable),
                         ("--deb-systemd-auto-start", deb.systemdAutoStart),
                         ("--no-deb-systemd-restart-after-upgrade", !deb.systemdRestartAfterUpgrade)].filter(\.1).map(\.0)
            for flag in given { logger.warning("\(flag) has no effect without --deb-systemd FILE") }
        }
        if !rpm.autoAddExcludeDirectories.isEmpty && !rpm.autoAddDirectories {
            logger.warning("--rpm-auto-add-exclude-directories has no effect without --rpm-auto-add-directories")
        }
    }

    /// `Name: value` (fpm's `--rpm-tag` and `--deb-field`).
    static func nameValue(_ text: String, flag: String) throws -> (name: String, value: String) {
        guard let colon = text.firstIndex(of: ":") else {
            throw PkgLayerError(.usage, "'\(text)' is not 'Name: value'", at: flag)
        }
        let name = text[..<colon].trimmingCharacters(in: .whitespaces)
        let value = text[text.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty, !name.contains(where: \.isWhitespace) else {
            throw PkgLayerError(.usage, "'\(text)' has no field name before ':'", at: flag)
        }
        return (name, value)
    }

    /// fpm's `'[OPT]PACKAGE[,PACKAGE…]: FILE'`. OPT (rpm's `-p INTERPRETER`) is honoured as the
    /// script's `#!` line; other options are an error.
    func trigger(_ kind: RPMTrigger.Kind, _ value: String) throws -> RPMTrigger {
        let flag = "--rpm-trigger-\(kind.rawValue)"
        var rest = Substring(value)
        var option = ""
        if rest.hasPrefix("["), let close = rest.firstIndex(of: "]") {
            option = rest[rest.index(after: rest.startIndex)..<close].trimmingCharacters(in: .whitespaces)
            rest = rest[rest.index(after: close)...]
        }
        guard let sep = rest.range(of: ": ") else {
            throw PkgLayerError(.usage, "cannot read '\(value)'; write '[OPT]PACKAGE: FILE' (PACKAGE may be a comma-separated list)", at: flag)
        }
        let packages = String(rest[..<sep.lowerBound]), file = String(rest[sep.upperBound...])
        var script = try readText(file, flag: flag)
        if !option.isEmpty {
            let words = option.split(separator: " ")
            guard words.count == 2, words[0] == "-p" else {
                throw PkgLayerError(.usage, "trigger option '\(option)' is not supported; only '-p INTERPRETER' is", at: flag)
            }
            if !script.hasPrefix("#!") { script = "#!\(words[1])\n" + script }
        }
        let targets = try DependencyList.parse(packages, field: flag)
        guard !targets.isEmpty else { throw PkgLayerError(.usage, "'\(value)' names no package", at: flag) }
        return RPMTrigger(kind: kind, targets: targets, script: script)
    }

    /// rpm's `%changelog` text: `* Wed Jun 14 2023 Jane Doe <jane@example.com> - 1.0-1` then the
    /// entry's lines (`- change`).
    static func parseRPMChangelog(_ text: String, file: String) throws -> [ChangelogEntry] {
        var entries: [ChangelogEntry] = []
        var lines: [String] = []
        func flushLines() {
            guard !entries.isEmpty else { return }
            entries[entries.count - 1].text = lines.joined(separator: "\n")
            lines = []
        }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE MMM d yyyy"
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("%changelog") || line.isEmpty { continue }
            if line.hasPrefix("*") {
                flushLines()
                let words = line.dropFirst().split(separator: " ", omittingEmptySubsequences: true)
                guard words.count >= 5, let date = formatter.date(from: words[0..<4].joined(separator: " ")) else {
                    throw PkgLayerError(.usage, "\(file):\(number + 1): cannot read '\(line)'; an entry starts '* Wed Jun 14 2023 Name <mail> - VERSION'",
                                        at: "--rpm-changelog")
                }
                var author = words[4...].joined(separator: " ")
                var version: String?
                if let dash = author.range(of: " - ", options: .backwards) {
                    version = String(author[dash.upperBound...]).trimmingCharacters(in: .whitespaces)
                    author = String(author[..<dash.lowerBound])
                }
                entries.append(ChangelogEntry(date: Int64(date.timeIntervalSince1970), author: author, version: version, text: ""))
                continue
            }
            guard !entries.isEmpty else {
                throw PkgLayerError(.usage, "\(file):\(number + 1): text before the first '* DATE NAME - VERSION' line", at: "--rpm-changelog")
            }
            lines.append(line.hasPrefix("- ") ? String(line.dropFirst(2)) : line)
        }
        flushLines()
        return entries
    }

    /// The newest date in a Debian changelog's trailer lines (` -- Name <mail>  Tue, 14 Nov 2023 …`).
    static func newestDebianChangelogDate(_ text: String) -> Int64? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "EEE, d MMM yyyy HH:mm:ss Z"
        return text.split(separator: "\n").compactMap { line -> Int64? in
            guard line.hasPrefix(" -- "), let gap = line.range(of: ">  ") else { return nil }
            return formatter.date(from: String(line[gap.upperBound...]).trimmingCharacters(in: .whitespaces)).map { Int64($0.timeIntervalSince1970) }
        }.max()
    }

    /// `--source-date-epoch-from-changelog`: the clock is the newest changelog entry (unless
    /// SOURCE_DATE_EPOCH is set, which always wins).
    func clockFromChangelog(_ spec: inout PackageSpec) throws {
        if try SourceDateEpoch.fromEnvironment() != nil { return }
        var dates = spec.changelog.map(\.date)
        if let file = request.deb.changelog, let date = Self.newestDebianChangelogDate(try readText(file, flag: "--deb-changelog")) {
            dates.append(date)
        }
        guard let newest = dates.max() else {
            logger.warning("--source-date-epoch-from-changelog: no changelog entry (give --rpm-changelog or --deb-changelog); the clock stays \(spec.sourceDateEpoch.seconds)")
            return
        }
        spec.sourceDateEpoch = SourceDateEpoch(newest)
    }
}
