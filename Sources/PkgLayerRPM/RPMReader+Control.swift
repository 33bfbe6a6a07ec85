import CRPM
import Foundation
import PkgLayerCore

/// What an rpm's header says beyond files, relations and scriptlets: `%changelog`, triggers and
/// `%verifyscript`, read into `spec.changelog` and `spec.extras` so a conversion can map them (a
/// deb's changelog.Debian.gz) or name them as dropped (triggers, verify script).
extension RPMReader {
    static func readControl(_ h: RPMHeader, into spec: inout PackageSpec) {
        spec.changelog = readChangelog(h)
        spec.extras.rpmTriggers = readTriggers(h)
        if let verify = h.string(tag(RPMTAG_VERIFYSCRIPT)), !verify.isEmpty { spec.extras.rpmVerifyScript = verify }
    }

    /// CHANGELOGTIME/NAME/TEXT, newest first as rpm stores them. `Jane <j@x> - 1.0-1` splits into author
    /// and version; `- item` bullets lose their dash. The one entry pkglayer writes when a spec has
    /// none ("Package built by pkglayer") is not a changelog and is left out.
    static func readChangelog(_ h: RPMHeader) -> [ChangelogEntry] {
        let times = h.numbers(tag(RPMTAG_CHANGELOGTIME))
        let names = h.strings(tag(RPMTAG_CHANGELOGNAME))
        let texts = h.strings(tag(RPMTAG_CHANGELOGTEXT))
        let count = min(times.count, names.count, texts.count)
        var entries: [ChangelogEntry] = []
        for i in 0..<count {
            var author = names[i]
            var version: String?
            if let dash = author.range(of: " - ", options: .backwards) {
                version = String(author[dash.upperBound...]).trimmingCharacters(in: .whitespaces)
                author = String(author[..<dash.lowerBound])
            }
            let lines = texts[i].split(separator: "\n", omittingEmptySubsequences: true).map { line -> String in
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                return trimmed.hasPrefix("- ") ? String(trimmed.dropFirst(2)) : trimmed
            }
            entries.append(ChangelogEntry(date: Int64(clamping: times[i]), author: author, version: version?.isEmpty == false ? version : nil,
                                          text: lines.joined(separator: "\n")))
        }
        if entries.count == 1, texts.first == "- Package built by pkglayer" { return [] }
        return entries
    }

    /// TRIGGERNAME/VERSION/FLAGS rows grouped by TRIGGERINDEX into their scripts.
    static func readTriggers(_ h: RPMHeader) -> [RPMTrigger] {
        let scripts = h.strings(tag(RPMTAG_TRIGGERSCRIPTS))
        let progs = h.strings(tag(RPMTAG_TRIGGERSCRIPTPROG))
        let names = h.strings(tag(RPMTAG_TRIGGERNAME))
        let versions = h.strings(tag(RPMTAG_TRIGGERVERSION))
        let flags = h.numbers(tag(RPMTAG_TRIGGERFLAGS))
        let indexes = h.numbers(tag(RPMTAG_TRIGGERINDEX))
        guard !scripts.isEmpty, names.count == flags.count, names.count == indexes.count else { return [] }
        var triggers: [RPMTrigger?] = Array(repeating: nil, count: scripts.count)
        for row in names.indices {
            guard let index = Int(exactly: indexes[row]), index < scripts.count else { continue }
            let flag = UInt32(truncatingIfNeeded: flags[row])
            let kind: RPMTrigger.Kind
            if flag & UInt32(RPMSENSE_TRIGGERPREIN.rawValue) != 0 { kind = .beforeInstall }
            else if flag & UInt32(RPMSENSE_TRIGGERUN.rawValue) != 0 { kind = .beforeUninstall }
            else if flag & UInt32(RPMSENSE_TRIGGERPOSTUN.rawValue) != 0 { kind = .afterTargetUninstall }
            else { kind = .afterInstall }
            let op = RPMSense.versionOperator(for: flag)
            let version = row < versions.count && !versions[row].isEmpty ? versions[row] : nil
            let target = Dependency(name: names[row], versionOperator: version == nil ? nil : op, version: version)
            if triggers[index] == nil {
                var script = scripts[index]
                let prog = index < progs.count ? progs[index] : ""
                if !script.hasPrefix("#!"), prog.hasPrefix("/"), prog != RPMWriter.scriptInterpreter { script = "#!\(prog)\n" + script }
                triggers[index] = RPMTrigger(kind: kind, targets: [target], script: script)
            } else {
                triggers[index]!.targets.append(target)
            }
        }
        return triggers.compactMap { $0 }
    }
}
