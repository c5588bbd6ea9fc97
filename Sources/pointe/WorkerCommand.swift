import ArgumentParser
import Foundation
import PointEEngine
import PointECluster
import PointEImage
import PointEModels
import PointETensor

struct WorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Sample shards for a coordinator: loads the models once, asks for work while idle.",
        discussion: """
        Models come from --models-dir (NAME.json + NAME.safetensors from `pointe models
        init-random`, or released NAME.pt). Text prompts condition base40M-textvec through CLIP
        when --clip is given (CLIP files in --models-dir, as `pointe generate` loads them);
        without it use base40M-uncond (the text is recorded, not used) or give JSON Lines
        prompts an "embedding" .npy file. On SIGTERM the worker hands its current shard back.
        """)

    @Option(help: "Coordinator endpoint.") var connect = "tcp://127.0.0.1:5555"
    @Option(name: .customLong("models-dir"), help: "Directory holding the model files. Default: the model cache ($POINTE_HOME, else ~/.cache/pointe), where `pointe models download` puts the released files.")
    var modelsDirOption: String?
    var modelsDir: String { modelsDirOption ?? ModelCache.defaultDirectory() }
    @Option(help: "Prompts sampled together.") var batch = 4
    @Option(help: "Load these models at start (repeatable), so a missing file fails now.") var preload: [String] = []
    @Option(help: "Peer name (default: worker@HOST:PID:RANDOM).") var name: String?
    @Option(help: "Exit after this many milliseconds without a message from the coordinator.") var coordinatorTimeoutMs: UInt64 = 120_000
    @Option(help: "Exit when this process (the launcher) is gone.") var parentPid: Int32?
    @Flag(help: "Embed text and image prompts with CLIP from --models-dir (loaded at start).") var clip = false
    @OptionGroup var security: PeerSecurityOptions
    @OptionGroup var logging: LogOptions
    @Flag(help: "Only warnings on standard error.") var quiet = false

    func run() throws {
        try logging.apply()
        var options = WorkerOptions()
        options.connect = connect
        if let name { options.name = name }
        options.coordinatorTimeoutMs = coordinatorTimeoutMs
        options.transport = try security.transport()
        options.log = ClusterLog(role: "worker \(getpid())", quiet: quiet)
        let clipModel = clip ? try GenerateCommand.clip(directory: modelsDir) : nil
        let engine = PointESamplingEngine(modelsDirectory: modelsDir, maxBatch: batch,
                                          textEmbedder: try clipModel.map { try CLIPTextEmbedder(model: $0) },
                                          imageEmbedder: clipModel.map { CLIPImageEmbedder(model: $0) })
        for model in preload { try engine.preload(model) }
        let stop = SignalFlag()
        if let parentPid {
            // A launcher killed without cleanup must not leave workers behind.
            Thread.detachNewThread {
                while getppid() == parentPid { usleep(200_000) }
                stop.raise(SIGHUP)
            }
        }
        endPeerProcess(try Worker(engine: engine, options: options).run(stop: stop), log: options.log)
    }
}

/// CLIP's text tower as the worker engine's text embedder (unit vectors, one row per prompt).
final class CLIPTextEmbedder: TextEmbedder {
    let model: CLIPModel
    let tokenizer: CLIPTokenizer

    init(model: CLIPModel) throws {
        self.model = model
        tokenizer = try CLIPTokenizer.bundled(contextLength: model.config.contextLength)
    }

    func embed(_ texts: [String]) throws -> Tensor {
        try model.embedText(texts, tokenizer: tokenizer)
    }
}

/// CLIP's image tower as the worker engine's image embedder: decode (JPEG/PNG), CLIP's
/// preprocessing, the latent grid.
final class CLIPImageEmbedder: ImageEmbedder {
    let model: CLIPModel

    init(model: CLIPModel) { self.model = model }

    func embedGrid(_ image: Data, source: String) throws -> Tensor {
        let n = model.config.imageResolution
        let pixels = try CLIPPreprocess.pixels(ImageDecoder.decode(image, source: source), size: n)
        return try model.embedImagesGrid(pixels.reshaped([1, 3, n, n]))
    }
}
