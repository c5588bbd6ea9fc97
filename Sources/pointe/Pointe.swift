import ArgumentParser
import Foundation
import PointETensor

@main
struct Pointe: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pointe",
        abstract: "Point-E in Swift: text/image -> point cloud -> mesh, and the tools around it.",
        version: PointeVersion.text,
        subcommands: [ParityCommand.self, ModelsCommand.self, BenchCommand.self, SampleCommand.self, MeshCommand.self, GenerateCommand.self, EvalCommand.self,
                      PreviewCommand.self, CoordinatorCommand.self, WorkerCommand.self, MesherCommand.self, RunCommand.self, RemeshCommand.self, StatusCommand.self, KeysCommand.self, DrainCommand.self])

    /// Picks OpenBLAS's kernels before anything runs (see OpenBLASCoreType), then parses.
    /// With POINTE_PARSE_ONLY=1 the command line is parsed and validated, not run: launchers
    /// (cluster/) and their tests check the commands they generate this way.
    static func main() {
        if ProcessInfo.processInfo.environment["POINTE_PARSE_ONLY"] == "1" {
            do {
                let command = try parseAsRoot(nil)
                print("parsed: pointe \(type(of: command).configuration.commandName ?? "?")")
                Foundation.exit(0)
            } catch {
                exit(withError: error)
            }
        }
        // A bad POINTE_KERNELS is reported here, once, before any command computes anything.
        do {
            _ = try KernelVariant.requested()
        } catch {
            printError("pointe: \(error)")
            Foundation.exit(2)
        }
        OpenBLASCoreType.reexecIfNeeded()
        main(nil)
    }
}

/// Prints to standard error (progress, diagnostics) so standard output stays machine-readable.
func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// A command that cannot do what it was asked, for a reason in its input or its environment
/// (a missing file, a job made with other settings). Printed once as "Error: MESSAGE", without
/// the usage block a command-line mistake (ValidationError) gets.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
