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
        version: version,
        subcommands: [BuildCommand.self, PackageCommand.self, ImageCommand.self, ImportCommand.self, ImagesCommand.self,
                      InspectCommand.self, DfCommand.self, PruneCommand.self, SchemaCommand.self,
                      LoginCommand.self, PushCommand.self, PullCommand.self]
    )
}

/// Options every subcommand shares.
struct GlobalOptions: ParsableArguments {
    @Flag(name: .customLong("verbose"), help: "Log what pkglayer does.")
    var verbose = false

    @Flag(name: .customLong("debug"), help: "Log everything, including per-file detail.")
    var debug = false

    func bootstrapLogging() {
        let level: Logger.Level = debug ? .trace : (verbose ? .info : .warning)
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}

/// Runs a command body, turning pkglayer's errors into a one-line message and exit status 1.
func runReportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as PkgLayerError {
        FileHandle.standardError.write(Data("pkglayer: error: \(error.description)\n".utf8))
        throw ExitCode(1)
    }
}
