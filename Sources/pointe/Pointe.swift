import ArgumentParser
import Foundation

@main
struct Pointe: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pointe",
        abstract: "Point-E in Swift: text/image -> point cloud -> mesh, and the tools around it.",
        subcommands: [ParityCommand.self, ModelsCommand.self, BenchCommand.self, SampleCommand.self, MeshCommand.self, GenerateCommand.self, EvalCommand.self,
                      PreviewCommand.self, CoordinatorCommand.self, WorkerCommand.self, MesherCommand.self, RunCommand.self, StatusCommand.self, KeysCommand.self])

    /// Picks OpenBLAS's kernels before anything runs (see OpenBLASCoreType), then parses.
    static func main() {
        OpenBLASCoreType.reexecIfNeeded()
        main(nil)
    }
}

/// Prints to standard error (progress, diagnostics) so standard output stays machine-readable.
func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
