import ArgumentParser
import Foundation
import Logging
import PkgLayerCore

@main
struct PkgLayer: ParsableCommand {
    static let version = PkgLayerVersion.current

    static let configuration = CommandConfiguration(
        commandName: "pkglayer",
        abstract: "Turn source into packages and packages into container images, reproducibly.",
        // No `version:` here: ArgumentParser would add its --version to every subcommand, where it clashes with
        // `package`'s fpm option -v/--version VERSION. `pkglayer --version` and `pkglayer version` are EntryPoint's.
        subcommands: [BuildCommand.self, GraphCommand.self, PackageCommand.self, ImageCommand.self, ImportCommand.self, ImagesCommand.self,
                      InspectCommand.self, TagCommand.self, RmiCommand.self, HistoryCommand.self, SaveCommand.self, LoadCommand.self, StoreCommand.self, DfCommand.self, PruneCommand.self, SchemaCommand.self,
                      LoginCommand.self, PushCommand.self, PullCommand.self, SignCommand.self, PublishCommand.self, VersionCommand.self]
    )
}

/// Options every subcommand shares.
struct GlobalOptions: ParsableArguments {
    @Flag(name: .customLong("verbose"), help: "Log what pkglayer does.")
    var verbose = false

    @Flag(name: .customLong("debug"), help: "Log everything, including per-file detail.")
    var debug = false

    /// Configures logging and the progress reporter; `json`: nothing on stderr but warnings and errors.
    func bootstrapLogging(json: Bool = false) {
        Console.configure(verbose: verbose, debug: debug, json: json)
    }
}

/// Runs a command body, turning any error into one `pkglayer: error: …` message and exit status 1.
/// pkglayer's own errors say where and how to fix; anything else is printed with its type so a bug
/// report can name it.
func runReportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as ExitCode {
        throw error
    } catch {
        Interruption.parkIfInterrupted()
        Console.write("pkglayer: error: \(PkgLayerError.describe(error))\n")
        throw ExitCode(1)
    }
}
