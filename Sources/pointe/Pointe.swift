import ArgumentParser

@main
struct Pointe: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pointe",
        abstract: "Point-E in Swift: text/image -> point cloud -> mesh, and the tools around it.",
        subcommands: [ParityCommand.self, ModelsCommand.self, BenchCommand.self])
}

/// Prints to standard error (progress, diagnostics) so standard output stays machine-readable.
func printError(_ message: String) {
    var stderr = StandardError()
    print(message, to: &stderr)
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        for byte in string.utf8 { putc(Int32(byte), stderrHandle) }
    }
}

#if canImport(Glibc)
import Glibc
let stderrHandle = Glibc.stderr
#else
import Darwin
let stderrHandle = Darwin.stderr
#endif
