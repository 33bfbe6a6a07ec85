import ArgumentParser
import Foundation
import PkgLayerCore
import PkgLayerRecipe

/// How the command line starts: one error style for argument errors and pkglayer's own
/// (`pkglayer: error: …`), a "did you mean" for a mistyped command, and one program version
/// (`pkglayer --version`, `pkglayer version`), so `package`'s fpm option `-v/--version VERSION` is
/// never mistaken for it.
extension PkgLayer {
    /// Parses `arguments` (without the program name), runs the command and exits.
    static func run(_ arguments: [String]) -> Never {
        Interruption.install()
        if arguments == ["--version"] {
            print(version)
            Foundation.exit(0)
        }
        if let first = arguments.first, !first.hasPrefix("-") {
            let names = commandNames
            if !names.contains(first) {
                let hint = Suggestion.closest(to: first, among: names).map { " Did you mean '\($0)'?" } ?? ""
                FileHandle.standardError.write(Data("pkglayer: error: '\(first)' is not a pkglayer command.\(hint) 'pkglayer --help' lists them.\n".utf8))
                Foundation.exit(ExitCode.validationFailure.rawValue)
            }
        }
        do {
            var command = try parseAsRoot(arguments)
            try command.run()
            Interruption.parkIfInterrupted()
            Foundation.exit(0)
        } catch {
            Interruption.parkIfInterrupted()
            let code = exitCode(for: error)
            let text = fullMessage(for: error)
            if code == .success {
                if !text.isEmpty { print(text) }
                Foundation.exit(0)
            }
            // pkglayer's own errors were printed where they happened (`runReportingErrors`); only
            // ArgumentParser's own messages are left, and they get pkglayer's prefix.
            if !text.isEmpty {
                let styled = text.hasPrefix("Error: ") ? "pkglayer: error: " + text.dropFirst("Error: ".count) : Substring(text)
                FileHandle.standardError.write(Data((styled.hasSuffix("\n") ? String(styled) : styled + "\n").utf8))
            }
            Foundation.exit(code.rawValue)
        }
    }

    /// Every subcommand's name, and `help`.
    static var commandNames: [String] {
        configuration.subcommands.map { $0.configuration.commandName ?? String(describing: $0).lowercased() } + ["help"]
    }
}

/// `pkglayer version`: the program's version (as `pkglayer --version`).
struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "version", abstract: "Print pkglayer's version.")

    func run() throws {
        print(PkgLayer.version)
    }
}
