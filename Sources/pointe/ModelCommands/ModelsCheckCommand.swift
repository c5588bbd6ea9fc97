import ArgumentParser
import Foundation
import PointEModels
import PointETensor

/// `pointe models check CONFIG CHECKPOINT`: strict load plus a read of every weight, reporting
/// the memory it took next to the size of the tensors (loading maps the file; it does not copy).
struct ModelsCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Load a checkpoint strictly against a config, read every weight, report memory use.")

    @Argument(help: "Model config JSON (a released model name such as base1B also works).") var config: String
    @Argument(help: "Checkpoint: PyTorch .pt or .safetensors.") var checkpoint: String

    func run() throws {
        let modelConfig = try ReleasedModel(rawValue: config)?.networkConfig ?? ModelConfig.load(config)
        let start = DispatchTime.now().uptimeNanoseconds
        let (_, parameters) = try PointEModel.load(config: modelConfig, checkpoint: checkpoint)
        let loaded = DispatchTime.now().uptimeNanoseconds
        var elements = 0, borrowed = 0, nonFinite: [String] = []
        for (name, tensor) in parameters.parameters {
            elements += tensor.count
            if tensor.storage.isBorrowed { borrowed += tensor.count }
            var finite = true
            let p = tensor.pointer
            for i in 0..<tensor.count where !p[i].isFinite { finite = false; break }
            if !finite { nonFinite.append(name) }
        }
        let touched = DispatchTime.now().uptimeNanoseconds
        let tensorBytes = Double(elements * 4)
        let peak = Double(PeakMemory.residentBytes())
        print("\(checkpoint): \(modelConfig.name), \(parameters.parameters.count) tensors, \(elements) parameters")
        print(String(format: "load_seconds %.2f", Double(loaded - start) / 1e9))
        print(String(format: "read_seconds %.2f", Double(touched - loaded) / 1e9))
        print(String(format: "tensor_bytes %.0f", tensorBytes))
        print(String(format: "peak_rss_bytes %.0f", peak))
        print(String(format: "peak_rss_over_tensor_bytes %.3f", peak / tensorBytes))
        print(String(format: "zero_copy_fraction %.3f", Double(borrowed) / Double(max(1, elements))))
        if !nonFinite.isEmpty {
            printError("non-finite values in: \(nonFinite.joined(separator: ", "))")
            throw ExitCode(1)
        }
    }
}

enum PeakMemory {
    /// Peak resident set size of this process (Linux reports ru_maxrss in KiB).
    static func residentBytes() -> Int {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return Int(usage.ru_maxrss) * 1024
    }
}
