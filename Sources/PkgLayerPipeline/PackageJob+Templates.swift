import Foundation
import PkgLayerCore

/// fpm's `--template-scripts`: scripts are ERB templates. pkglayer renders the substitutions fpm users
/// write, `<%= name %>`, `version`, `iteration`, `epoch`, `architecture`, `prefix` and each
/// `--template-value` key (also spelled `@name`), with ERB's `<%= x -%>` trimming. Anything else
/// (Ruby code, `<% if … %>`, an unknown name) is an error naming the expression and the file: never a
/// half-rendered script.
extension PackageJob {
    /// The script files the options name, with the flag and where each lands.
    var templatedScriptFiles: [(file: String, flag: String)] {
        let r = request
        let pairs: [(String?, String)] = [
            (r.beforeInstall, "--before-install"), (r.afterInstall, "--after-install"), (r.beforeRemove, "--before-remove"),
            (r.afterRemove, "--after-remove"), (r.beforeUpgrade, "--before-upgrade"), (r.afterUpgrade, "--after-upgrade"),
            (r.rpmPretrans, "--rpm-pretrans"), (r.rpmPosttrans, "--rpm-posttrans"),
            (r.rpm.verifyScript, "--rpm-verifyscript"), (r.deb.afterPurge, "--deb-after-purge"), (r.deb.config, "--deb-config"),
        ]
        return pairs.compactMap { file, flag in file.map { ($0, flag) } }
    }

    func templateValues(for spec: PackageSpec, target: PackageFormat) throws -> [String: String] {
        var values: [String: String] = [
            "name": spec.name, "version": spec.version, "iteration": spec.release ?? "", "epoch": spec.epoch.map(String.init) ?? "",
            "architecture": target == .rpm ? spec.architecture.rpm : spec.architecture.deb, "prefix": request.prefix ?? "",
        ]
        for pair in request.templateValues {
            guard let eq = pair.firstIndex(of: "="), eq != pair.startIndex else {
                throw PkgLayerError(.usage, "'\(pair)' is not KEY=VALUE", at: "--template-value")
            }
            values[String(pair[..<eq])] = String(pair[pair.index(after: eq)...])
        }
        return values
    }

    /// Renders every script the options gave, for `target`.
    func renderTemplates(_ spec: inout PackageSpec, target: PackageFormat) throws {
        let values = try templateValues(for: spec, target: target)
        let byFlag: [String: ScriptHook] = [
            "--before-install": .beforeInstall, "--after-install": .afterInstall, "--before-remove": .beforeRemove,
            "--after-remove": .afterRemove, "--before-upgrade": .beforeUpgrade, "--after-upgrade": .afterUpgrade,
            "--rpm-pretrans": .beforeTransaction, "--rpm-posttrans": .afterTransaction,
        ]
        for (file, flag) in templatedScriptFiles {
            let rendered = try Self.render(readText(file, flag: flag), values: values, file: file)
            if let hook = byFlag[flag] { spec.scripts[hook] = rendered }
            else if flag == "--rpm-verifyscript" { spec.extras.rpmVerifyScript = rendered }
            else if flag == "--deb-after-purge" { spec.extras.debAfterPurge = rendered }
            else if flag == "--deb-config" { spec.extras.debConfig = rendered }
        }
    }

    /// Renders `<%= name %>` substitutions; throws on anything else.
    public static func render(_ text: String, values: [String: String], file: String) throws -> String {
        var out = ""
        var rest = Substring(text)
        while let open = rest.range(of: "<%") {
            out += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].range(of: "%>") else {
                throw PkgLayerError(.invalidInput, "'<%' without a closing '%>' in the script template", at: file)
            }
            let whole = String(rest[open.lowerBound..<close.upperBound])
            var inner = rest[open.upperBound..<close.lowerBound]
            var trimNewline = false
            if inner.hasSuffix("-") { inner = inner.dropLast(); trimNewline = true }
            rest = rest[close.upperBound...]
            if trimNewline, rest.hasPrefix("\n") { rest = rest.dropFirst() }
            if inner.hasPrefix("#") { continue }  // an ERB comment
            guard inner.hasPrefix("=") else {
                throw PkgLayerError(.invalidInput, "cannot render '\(whole)': only <%= NAME %> substitutions are supported (name, version, iteration, epoch, architecture, prefix and --template-value keys), not Ruby code",
                                    at: file)
            }
            var name = inner.dropFirst().trimmingCharacters(in: .whitespaces)
            if name.hasPrefix("@") { name.removeFirst() }
            guard let value = values[name] else {
                throw PkgLayerError(.invalidInput, "cannot render '\(whole)': '\(name)' is not one of \(values.keys.sorted().joined(separator: ", ")) (add --template-value \(name)=VALUE)",
                                    at: file)
            }
            out += value
        }
        return out + rest
    }
}
