import Foundation

/// rpm's scriptlet slots.
public enum RPMScriptSlot: String, Sendable, CaseIterable {
    case pre, post, preun, postun, pretrans, posttrans
}

/// Debian's maintainer script slots.
public enum DebScriptSlot: String, Sendable, CaseIterable {
    case preinst, postinst, prerm, postrm
}

/// Turns fpm-style hooks (before-install, after-upgrade, …) into the scripts each format runs, and back.
///
/// The mapping (the README's "Scripts and upgrades" table copies it):
///
/// | hook             | rpm                         | deb                                     |
/// |------------------|-----------------------------|-----------------------------------------|
/// | before-install   | %pre when `$1` = 1          | preinst `install`                       |
/// | before-upgrade   | %pre when `$1` ≥ 2          | preinst `upgrade`                       |
/// | after-install    | %post when `$1` = 1         | postinst `configure` with no old version|
/// | after-upgrade    | %post when `$1` ≥ 2         | postinst `configure` with an old version|
/// | before-remove    | %preun when `$1` = 0        | prerm `remove`                          |
/// | after-remove     | %postun when `$1` = 0       | postrm `remove`                         |
/// | before/after-transaction | %pretrans / %posttrans | (not supported by dpkg: a warning)   |
///
/// When no upgrade hook is given, the install hook also runs on upgrade (what a plain %pre/%post or
/// preinst/postinst does), so a script that creates a user or reloads a daemon keeps working on upgrades.
/// Removal hooks never run during an upgrade: rpm's old-package %preun/%postun see `$1` ≥ 1 and dpkg
/// calls prerm/postrm with `upgrade`, and both are skipped.
///
/// Each hook's text is kept verbatim and run by the interpreter named in its `#!` line, as written,
/// with the format's arguments; a hook without one runs under `sh`, found on the PATH that rpm and
/// dpkg set (a path would draw lintian's `command-with-path-in-maintainer-script`). A failing hook
/// fails the slot (`set -e`).
public enum MaintainerScripts {
    public static func rpm(_ scripts: [ScriptHook: String]) -> [RPMScriptSlot: String] {
        var out: [RPMScriptSlot: String] = [:]
        out[.pre] = dispatch(scripts, branches: [
            ("[ \"$1\" -eq 1 ]", installOrUpgrade(.beforeInstall, .beforeUpgrade, scripts).install),
            ("[ \"$1\" -ge 2 ]", installOrUpgrade(.beforeInstall, .beforeUpgrade, scripts).upgrade),
        ], shebang: false)
        out[.post] = dispatch(scripts, branches: [
            ("[ \"$1\" -eq 1 ]", installOrUpgrade(.afterInstall, .afterUpgrade, scripts).install),
            ("[ \"$1\" -ge 2 ]", installOrUpgrade(.afterInstall, .afterUpgrade, scripts).upgrade),
        ], shebang: false)
        out[.preun] = dispatch(scripts, branches: [("[ \"$1\" -eq 0 ]", .beforeRemove)], shebang: false)
        out[.postun] = dispatch(scripts, branches: [("[ \"$1\" -eq 0 ]", .afterRemove)], shebang: false)
        out[.pretrans] = dispatch(scripts, branches: [("true", .beforeTransaction)], shebang: false)
        out[.posttrans] = dispatch(scripts, branches: [("true", .afterTransaction)], shebang: false)
        return out.compactMapValues { $0 }
    }

    public static func deb(_ scripts: [ScriptHook: String]) -> [DebScriptSlot: String] {
        var out: [DebScriptSlot: String] = [:]
        let pre = installOrUpgrade(.beforeInstall, .beforeUpgrade, scripts)
        out[.preinst] = dispatch(scripts, branches: [
            ("[ \"$1\" = install ]", pre.install),
            ("[ \"$1\" = upgrade ]", pre.upgrade),
        ], shebang: true)
        let post = installOrUpgrade(.afterInstall, .afterUpgrade, scripts)
        out[.postinst] = dispatch(scripts, branches: [
            ("[ \"$1\" = configure ] && [ -z \"$2\" ]", post.install),
            ("[ \"$1\" = configure ] && [ -n \"$2\" ]", post.upgrade),
        ], shebang: true)
        out[.prerm] = dispatch(scripts, branches: [("[ \"$1\" = remove ]", .beforeRemove)], shebang: true)
        out[.postrm] = dispatch(scripts, branches: [("[ \"$1\" = remove ]", .afterRemove)], shebang: true)
        return out.compactMapValues { $0 }
    }

    /// Hooks a deb cannot carry (dpkg has no transaction scripts).
    public static func unsupportedInDeb(_ scripts: [ScriptHook: String]) -> [ScriptHook] {
        [ScriptHook.beforeTransaction, .afterTransaction].filter { scripts[$0] != nil }
    }

    /// Recovers the hooks from slot texts that pkglayer composed. A slot pkglayer did not write
    /// (a third-party package's script) comes back under `fallback` verbatim.
    public static func parse(_ slotText: String, fallback: ScriptHook) -> [ScriptHook: String] {
        guard slotText.contains(marker) else { return [fallback: slotText] }
        var hooks: [ScriptHook: String] = [:]
        let lines = slotText.components(separatedBy: "\n")
        var i = 0
        while i < lines.count {
            let line = lines[i]
            if line.hasPrefix(functionPrefix), line.hasSuffix("() {"),
               let hook = ScriptHook(rawValue: String(line.dropFirst(functionPrefix.count).dropLast(4)).replacingOccurrences(of: "_", with: "-")),
               i + 1 < lines.count, let delimiterStart = lines[i + 1].range(of: "<<'") {
                let delimiter = String(lines[i + 1][delimiterStart.upperBound...].dropLast())
                var body: [String] = []
                var j = i + 2
                while j < lines.count, lines[j] != delimiter { body.append(lines[j]); j += 1 }
                hooks[hook] = body.joined(separator: "\n") + "\n"
                i = j
            }
            i += 1
        }
        return hooks
    }

    // MARK: - Composition

    private static let marker = "# Composed by pkglayer from fpm-style hooks"
    private static let functionPrefix = "pkglayer_"

    private static func installOrUpgrade(_ install: ScriptHook, _ upgrade: ScriptHook,
                                         _ scripts: [ScriptHook: String]) -> (install: ScriptHook?, upgrade: ScriptHook?) {
        let hasUpgrade = scripts[upgrade] != nil
        return (scripts[install] != nil ? install : nil,
                hasUpgrade ? upgrade : (scripts[install] != nil ? install : nil))
    }

    private static func dispatch(_ scripts: [ScriptHook: String], branches: [(condition: String, hook: ScriptHook?)],
                                 shebang: Bool) -> String? {
        let used = branches.compactMap(\.hook).filter { scripts[$0] != nil }
        guard !used.isEmpty else { return nil }
        var text = shebang ? "#!/bin/sh\n" : ""
        text += "\(marker); see the README's \"Scripts and upgrades\".\nset -e\n"
        var defined = Set<ScriptHook>()
        for hook in used where !defined.contains(hook) {
            defined.insert(hook)
            text += function(for: hook, body: scripts[hook]!)
        }
        for (condition, hook) in branches {
            guard let hook, scripts[hook] != nil else { continue }
            text += "if \(condition); then \(functionName(hook)) \"$@\"; fi\n"
        }
        text += "exit 0\n"
        return text
    }

    private static func functionName(_ hook: ScriptHook) -> String {
        functionPrefix + hook.rawValue.replacingOccurrences(of: "-", with: "_")
    }

    private static func function(for hook: ScriptHook, body: String) -> String {
        var delimiter = "PKGLAYER_SCRIPT_END"
        var n = 1
        // The shell ends the here-document at the first line (split at LF scalars) equal to the delimiter.
        let bodyLines = Set(SingleLine.shellLines(body))
        while bodyLines.contains(delimiter) { n += 1; delimiter = "PKGLAYER_SCRIPT_END_\(n)" }
        let interpreter = Self.interpreter(of: body)
        // Shells read a script from stdin with `-s --`; perl, python and ruby with `-` (to a shell, `-`
        // only ends the options, and the next argument would be taken as a script file). Behind
        // `#!/usr/bin/env [-S] [VAR=x] bash`, the program is the first word that is not an option or assignment.
        let words = interpreter.split(separator: " ").map(String.init)
        func base(_ word: String) -> String { word.split(separator: "/").last.map(String.init) ?? word }
        var program = words.first.map(base) ?? ""
        if program == "env" {
            program = words.dropFirst().first { !$0.hasPrefix("-") && !$0.contains("=") }.map(base) ?? program
        }
        let shell = ["sh", "bash", "dash", "ksh", "zsh", "ash", "busybox"].contains(program)
        let stdinArgs = shell ? "-s --" : "-"
        var text = body
        if !text.hasSuffix("\n") { text += "\n" }
        return "\(functionName(hook))() {\n\(interpreter) \(stdinArgs) \"$@\" <<'\(delimiter)'\n\(text)\(delimiter)\n}\n"
    }

    /// The interpreter named by a `#!` line (with its arguments), or `sh`.
    static func interpreter(of body: String) -> String {
        // Only the `#!` line, up to its first line break of any kind ("\r\n" is one Character, so a
        // Character split would let a CRLF script's next lines into the composed command line).
        guard body.hasPrefix("#!") else { return "sh" }
        let command = SingleLine.firstLine(of: body).dropFirst(2).trimmingCharacters(in: .whitespaces)
        return command.isEmpty ? "sh" : command
    }
}
