import Foundation
import PkgLayerArchive
import PkgLayerCore

extension PythonSource {
    /// Unpacks the wheel, lays it out as installed, and reads its metadata into the spec.
    static func fromWheel(_ wheel: String, options: PythonOptions, tools: Tools, requirementsTxt: [String]?,
                          workdir: String) throws -> (PackageSpec, FileManifest) {
        let unpacked = (workdir as NSString).appendingPathComponent("unpacked")
        let newest = try unpack(wheel, into: unpacked)
        let top = try FileManager.default.contentsOfDirectory(atPath: unpacked).sorted()
        let distInfos = top.filter { $0.hasSuffix(".dist-info") }
        guard distInfos.count == 1, let distInfo = distInfos.first else {
            throw PkgLayerError(.invalidInput, "a wheel holds exactly one *.dist-info directory; this one has \(distInfos.count)", at: wheel)
        }
        func text(_ name: String) -> String? {
            FileManager.default.contents(atPath: "\(unpacked)/\(distInfo)/\(name)").map { String(decoding: $0, as: UTF8.self) }
        }
        guard let metadataText = text("METADATA") else {
            throw PkgLayerError(.invalidInput, "\(distInfo)/METADATA is missing; this is not a valid wheel", at: wheel)
        }
        let metadata = PythonMetadata(parsing: metadataText)
        let wheelInfo = PythonMetadata(parsing: text("WHEEL") ?? "")
        let pure = wheelInfo.first("Root-Is-Purelib")?.lowercased() == "true"

        let layout = try InstallLayout(options: options, tools: tools)
        let scriptsDir = (workdir as NSString).appendingPathComponent("scripts")
        try FileManager.default.createDirectory(atPath: scriptsDir, withIntermediateDirectories: true)
        var inputs: [ManifestBuilder.Input] = []
        var scriptNames = Set<String>()

        for item in top {
            let path = "\(unpacked)/\(item)"
            guard item.hasSuffix(".data") else {
                inputs.append(.init(source: path, destination: layout.lib(pure: pure) + "/" + item))
                continue
            }
            for scheme in try FileManager.default.contentsOfDirectory(atPath: path).sorted() {
                let schemeDir = "\(path)/\(scheme)"
                let entries = try FileManager.default.contentsOfDirectory(atPath: schemeDir).sorted()
                switch scheme {
                case "purelib", "platlib":
                    for entry in entries { inputs.append(.init(source: "\(schemeDir)/\(entry)", destination: layout.lib(pure: scheme == "purelib") + "/" + entry)) }
                case "scripts":
                    for entry in entries {
                        try copyScript(from: "\(schemeDir)/\(entry)", to: "\(scriptsDir)/\(entry)", interpreter: layout.interpreter)
                        scriptNames.insert(entry)
                    }
                case "data":
                    for entry in entries { inputs.append(.init(source: "\(schemeDir)/\(entry)", destination: layout.data + "/" + entry)) }
                case "headers":
                    let name = metadata.first("Name") ?? "python"
                    for entry in entries { inputs.append(.init(source: "\(schemeDir)/\(entry)", destination: layout.data + "/include/\(name)/" + entry)) }
                default:
                    logger.warning("\(item)/\(scheme) is not a wheel install scheme (purelib, platlib, scripts, data, headers) and is left out")
                }
            }
        }
        for script in EntryPoints(parsing: text("entry_points.txt") ?? "").scripts {
            let path = "\(scriptsDir)/\(script.name)"
            try? FileManager.default.removeItem(atPath: path)
            try script.text(interpreter: layout.interpreter).write(toFile: path, atomically: false, encoding: .utf8)
            chmod(path, 0o755)
            scriptNames.insert(script.name)
        }
        for name in scriptNames.sorted() {
            inputs.append(.init(source: "\(scriptsDir)/\(name)", destination: layout.bin + "/" + name))
        }

        var builder = ManifestBuilder(inputs: inputs)
        let clock = try SourceDateEpoch.fromEnvironment() ?? SourceDateEpoch(newest)
        builder.sourceDateEpoch = clock
        let built = try builder.build()
        let spec = try makeSpec(metadata: metadata, pure: pure, options: options, tools: tools, requirementsTxt: requirementsTxt,
                                clock: built.sourceDateEpoch, wheel: wheel)
        return (spec, built.manifest)
    }

    /// Extracts the wheel (a zip) safely; files get 0644 (zips made on other systems carry no usable
    /// modes, and modules need none; scripts are made executable where they land), directories 0755. Returns the newest member mtime (the clock when SOURCE_DATE_EPOCH is unset).
    static func unpack(_ wheel: String, into dir: String) throws -> Int64 {
        let extractor = try ArchiveExtractor(root: dir, archiveName: wheel, keepSpecialBits: false)
        let reader = try ArchiveReader(path: wheel)
        var newest: Int64 = 0
        while var header = try reader.next() {
            let type = header.mode & 0o170000
            if type == 0o040000 || header.path.hasSuffix("/") {
                header.mode = 0o040755
            } else if type == 0o120000 {
                throw PkgLayerError(.invalidInput, "member '\(header.path)' is a symlink; wheels hold only files", at: wheel)
            } else {
                header.mode = 0o100644
            }
            header.hardlinkTarget = nil
            newest = max(newest, header.mtime)
            try extractor.extract(header, from: reader)
        }
        return newest
    }

    /// Copies a `.data/scripts` file, turning wheel's `#!python` placeholder into the interpreter.
    static func copyScript(from source: String, to target: String, interpreter: String) throws {
        guard var data = FileManager.default.contents(atPath: source) else { throw PkgLayerError.posix("read", path: source) }
        let head = String(decoding: data.prefix(64), as: UTF8.self)
        if head.hasPrefix("#!python") {
            let end = data.firstIndex(of: UInt8(ascii: "\n")) ?? data.endIndex
            data = Data("#!\(interpreter)".utf8) + data[end...]
        }
        try? FileManager.default.removeItem(atPath: target)
        guard FileManager.default.createFile(atPath: target, contents: data) else { throw PkgLayerError.posix("create", path: target) }
        chmod(target, 0o755)
    }

    // MARK: - Where things land

    struct InstallLayout {
        var purelib: String
        var platlib: String
        var bin: String
        var data: String
        var interpreter: String

        func lib(pure: Bool) -> String { pure ? purelib : platlib }

        init(options: PythonOptions, tools: Tools) throws {
            bin = try ManifestPath.normalize(options.installBin ?? "/usr/bin", field: "--python-install-bin")
            data = try ManifestPath.normalize(options.installData ?? "/usr", field: "--python-install-data")
            if options.bin.hasPrefix("/") {
                interpreter = options.scriptsExecutable ?? options.bin
            } else {
                interpreter = options.scriptsExecutable ?? "/usr/bin/python3"
            }
            if let lib = options.installLib {
                purelib = try ManifestPath.normalize(lib, field: "--python-install-lib")
                platlib = purelib
                return
            }
            let found = Self.systemSiteDirectories(python: tools.python)
                ?? (tools.python != "/usr/bin/python3" ? Self.systemSiteDirectories(python: "/usr/bin/python3") : nil)
            purelib = found?.purelib ?? "/usr/lib/python3/dist-packages"
            platlib = found?.platlib ?? purelib
            PythonSource.logger.debug("python install lib", metadata: ["purelib": "\(purelib)", "platlib": "\(platlib)"])
        }

        /// The system site directories `python` installs distribution packages into, or nil when it is
        /// not a system interpreter (a venv, pyenv, /usr/local).
        static func systemSiteDirectories(python: String) -> (purelib: String, platlib: String)? {
            guard Subprocess.which(python, path: Subprocess.hostPath) != nil || FileManager.default.isExecutableFile(atPath: python) else { return nil }
            let script = """
                import sys, sysconfig
                if 'deb_system' in sysconfig.get_scheme_names():
                    print(sysconfig.get_path('purelib', 'deb_system')); print(sysconfig.get_path('platlib', 'deb_system'))
                elif sys.prefix == '/usr' and sys.prefix == sys.base_prefix:
                    print(sysconfig.get_path('purelib')); print(sysconfig.get_path('platlib'))
                """
            guard let result = try? Subprocess.run(python, ["-c", script]), result.status.succeeded else { return nil }
            let lines = result.text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { $0.hasPrefix("/") }
            guard lines.count == 2 else { return nil }
            return (lines[0], lines[1])
        }
    }
}

/// `entry_points.txt`: the `[console_scripts]` and `[gui_scripts]` sections become executables.
struct EntryPoints {
    struct Script {
        var name: String
        var module: String
        var attribute: String?

        /// The launcher pip writes: import the object and exit with what calling it returns.
        func text(interpreter: String) -> String {
            let importLine: String
            let call: String
            if let attribute {
                importLine = "from \(module) import \(attribute.split(separator: ".").first!)"
                call = attribute
            } else {
                importLine = "import \(module)"
                call = "\(module).main"
            }
            return """
                #!\(interpreter)
                # -*- coding: utf-8 -*-
                import re
                import sys
                \(importLine)
                if __name__ == "__main__":
                    sys.argv[0] = re.sub(r"(-script\\.pyw|\\.exe)?$", "", sys.argv[0])
                    sys.exit(\(call)())

                """
        }
    }

    var scripts: [Script] = []

    init(parsing text: String) {
        var section = ""
        for raw in text.components(separatedBy: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("["), line.hasSuffix("]") { section = String(line.dropFirst().dropLast()).trimmingCharacters(in: .whitespaces); continue }
            guard section == "console_scripts" || section == "gui_scripts", let eq = line.firstIndex(of: "=") else { continue }
            let name = line[..<eq].trimmingCharacters(in: .whitespaces)
            var target = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            if let bracket = target.firstIndex(of: "[") { target = target[..<bracket].trimmingCharacters(in: .whitespaces) }
            guard !name.isEmpty, !name.contains("/"), name != ".", name != ".." else { continue }
            let parts = target.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard let module = parts.first, !module.isEmpty else { continue }
            scripts.append(Script(name: name, module: module, attribute: parts.count > 1 ? parts[1] : nil))
        }
    }
}
