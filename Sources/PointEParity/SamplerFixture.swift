import Foundation
import PointECheckpoint
import PointEDiffusion
import PointEModels
import PointETensor

/// A reference sampler fixture (`sampler_*.json` + `.io.safetensors` in ../shared/parity): the
/// stages' networks and diffusions, the `PointCloudSampler` arguments, the conditioning, and
/// every recorded random draw, step and network call.
public struct SamplerFixture {
    public let path: String
    public let name: String
    public let batchSize: Int
    public let sampler: PointCloudSampler
    public let conditioning: SamplerConditioning
    public let io: StateDict
    /// Labels of the recorded draws in the order the reference made them ("stage0.eps[3]").
    public let drawOrder: [String]
    /// How the reference sampled (the JSON's "sampler_kind"; the Heun fixtures predate it):
    /// the `--sampler` a user gives for the same run; nil when stages mix Karras and DDPM.
    public let samplerKind: SamplerKind?

    /// Whether NAME.json describes a sampler run ("case" starting with "sampler_").
    public static func isSamplerFixture(_ path: String) -> Bool {
        guard let json = try? JSONValue.load(path + ".json") else { return false }
        return json["case"]?.stringValue?.hasPrefix("sampler_") ?? false
    }

    /// `path` is the fixture without extension; model files named in "models" are resolved
    /// relative to its directory.
    public init(path: String) throws {
        self.path = path
        let jsonPath = path + ".json"
        let json = try JSONValue.load(jsonPath)
        name = json["case"]?.stringValue ?? URL(fileURLWithPath: path).lastPathComponent
        guard let batch = json["batch_size"]?.intValue, batch > 0 else { throw DiffusionError("\(jsonPath): missing or invalid \"batch_size\"") }
        batchSize = batch
        guard let models = json["models"]?.objectPairs, !models.isEmpty else { throw DiffusionError("\(jsonPath): missing \"models\"") }
        guard let diffusions = json["diffusions"]?.objectPairs, diffusions.count == models.count else {
            throw DiffusionError("\(jsonPath): \"diffusions\" must list one entry per model (\(models.count))")
        }
        guard let args = json["PointCloudSampler_args"] else { throw DiffusionError("\(jsonPath): missing \"PointCloudSampler_args\"") }
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent()

        let n = models.count
        let a = try SamplerArguments(args, stages: n, source: jsonPath)
        var stages: [SamplerStage] = []
        for (i, (key, value)) in models.enumerated() {
            let (weights, config) = try Self.modelFiles(value, key: key, directory: directory, source: jsonPath)
            let (model, _) = try PointEModel.load(config: try ModelConfig.load(config), checkpoint: weights)
            guard case .diffusion(let net) = model else { throw DiffusionError("\(config): \(key) is not a point diffusion network") }
            let diffusion = try GaussianDiffusion(config: try DiffusionConfig.parse(diffusions[i].1, source: "\(jsonPath) diffusions.\(diffusions[i].0)"))
            stages.append(SamplerStage(model: net, diffusion: diffusion, numPoints: a.numPoints[i], guidanceScale: a.guidance[i],
                                       loop: a.loop(stage: i), conditioning: a.conditioning[i]))
        }
        sampler = PointCloudSampler(stages: stages, auxChannels: a.auxChannels, clipDenoised: a.clipDenoised)
        samplerKind = try a.samplerKind(stated: json["sampler_kind"], source: jsonPath)

        io = try CheckpointLoader.load(path + ".io.safetensors")
        var conditioning = SamplerConditioning()
        for key in io.keys where key.hasPrefix("model_kwargs.") {
            let tensor = try io.floatTensor(key)
            switch (String(key.dropFirst("model_kwargs.".count)), tensor.rank) {
            case ("embeddings", 2), ("texts", 2): conditioning.clipVector = tensor
            case ("embeddings", 3), ("images", 3): conditioning.clipGrid = tensor
            default: throw DiffusionError("\(io.source): conditioning input \(key) \(tensor.shape) is not understood")
            }
        }
        self.conditioning = conditioning

        var order: [String] = []
        for stage in json["random_draws"]?["order"]?.arrayValue ?? [] {
            order += (stage["order"]?.arrayValue ?? []).compactMap(\.stringValue)
        }
        guard !order.isEmpty else { throw DiffusionError("\(jsonPath): no \"random_draws\".\"order\" to replay") }
        drawOrder = order
    }

    /// "textvec.pt / textvec.json" -> (weights, config) paths.
    static func modelFiles(_ value: JSONValue, key: String, directory: URL, source: String) throws -> (String, String) {
        guard let text = value.stringValue else { throw DiffusionError("\(source): models.\(key) must be a \"X.pt / X.json\" string") }
        let parts = text.split(separator: "/").map { $0.trimmingCharacters(in: .whitespaces) }
        guard let config = parts.first(where: { $0.hasSuffix(".json") }),
              let weights = parts.first(where: { $0.hasSuffix(".pt") || $0.hasSuffix(".safetensors") }) else {
            throw DiffusionError("\(source): models.\(key) = \"\(text)\" names no weights (.pt/.safetensors) and config (.json)")
        }
        return (directory.appendingPathComponent(weights).path, directory.appendingPathComponent(config).path)
    }

    /// A recorded tensor by name; "NAME[i]" is entry i of NAME's first dimension.
    public func tensor(_ label: String) throws -> Tensor {
        if label.hasSuffix("]"), let open = label.lastIndex(of: "["), let index = Int(label[label.index(after: open)..<label.index(before: label.endIndex)]) {
            let whole = try tensor(String(label[..<open]))
            guard index >= 0, index < whole.shape[0] else { throw DiffusionError("\(io.source): \(label) is out of range of \(whole.shape)") }
            return ElementWise.batchSlice(whole, index..<(index + 1)).reshaped(Array(whole.shape.dropFirst()))
        }
        guard let t = io[label] else { throw DiffusionError("\(io.source): recorded tensor \"\(label)\" is missing") }
        return try t.floatTensor()
    }

    public func int64s(_ name: String) throws -> [Int64] {
        guard let t = io[name] else { throw DiffusionError("\(io.source): recorded tensor \"\(name)\" is missing") }
        return try t.int64Values()
    }

    /// The recorded noise in draw order, one row per sample (see `draw`): every stage's, or
    /// the first `stages` stages' only.
    public func replayNoise(stages: Int? = nil) throws -> ReplayNoise {
        let labels = drawOrder.filter { label in stages.map { (Self.stageIndex(label) ?? 0) < $0 } ?? true }
        return ReplayNoise(try labels.map { ($0, try draw($0)) }, source: io.source)
    }

    /// What stage `index` yielded last: the run's samples after that stage (unscaled, the
    /// earlier stages' points in front), one row per sample.
    public func lastYield(stage index: Int) throws -> Tensor {
        let yields = try tensor("stage\(index).yield_samples")
        return try tensor("stage\(index).yield_samples[\(yields.shape[0] - 1)]")
    }

    /// A recorded draw ("stage1.eps[3]") as this sampler asks for it: one row per sample. A
    /// guided DDPM stage of the reference runs its whole loop on a doubled batch
    /// (`PointCloudSampler` with use_karras False and a guidance scale), so its draws have 2B
    /// rows; its guided model reads only x[:B] and the sampler keeps only pred_xstart[:B], so
    /// rows B..<2B never reach the output and are dropped here.
    package func draw(_ label: String) throws -> Tensor {
        let recorded = try tensor(label)
        guard let stage = Self.stageIndex(label), stage < sampler.stages.count, Self.doublesBatch(sampler.stages[stage]) else {
            return recorded
        }
        guard recorded.shape.first == 2 * batchSize else {
            throw DiffusionError("\(io.source): \(label) has shape \(recorded.shape); a guided DDPM stage draws for \(2 * batchSize) rows")
        }
        return ElementWise.batchSlice(recorded, 0..<batchSize)
    }

    /// Whether the reference runs this stage's loop on a doubled batch: a DDPM stage with any
    /// non-zero guidance scale (the reference tests the scale's truth there, where its Karras
    /// path and its conditioning test != 0 and != 1).
    static func doublesBatch(_ stage: SamplerStage) -> Bool {
        stage.loop == .ddpm && stage.guidanceScale != 0
    }

    /// The stage a recorded tensor belongs to: N of "stageN.…".
    static func stageIndex(_ label: String) -> Int? {
        guard label.hasPrefix("stage"), let dot = label.firstIndex(of: ".") else { return nil }
        return Int(label[label.index(label.startIndex, offsetBy: 5)..<dot])
    }
}

/// The reference's `PointCloudSampler` arguments with its broadcasting of one-element lists
/// (a single guidance scale guides only the first stage; other single values repeat). The one
/// place the reference's strings become typed stage settings.
struct SamplerArguments {
    var numPoints: [Int], auxChannels: [String], conditioning: [StageConditioning], guidance: [Double], useKarras: [Bool]
    var karrasSteps: [Int], sigmaMin: [Double], sigmaMax: [Double], sChurn: [Double]
    var clipDenoised: Bool, rho: Double, sTmin: Double, sTmax: Double, sNoise: Double
    /// The Karras method of every Karras stage (the reference's `karras_sample_progressive`
    /// `sampler` argument, recorded as "karras_sampler"; absent or null: its default, heun).
    var karrasKind: SamplerKind

    init(_ args: JSONValue, stages n: Int, source: String) throws {
        func list<T>(_ key: String, _ convert: (JSONValue) -> T?, default value: [T]? = nil, pad: T? = nil) throws -> [T] {
            guard let items = args[key]?.arrayValue else {
                if let value { return value.count == 1 ? Array(repeating: value[0], count: n) : value }
                throw DiffusionError("\(source): PointCloudSampler_args.\(key) is missing")
            }
            let converted = items.compactMap(convert)
            guard converted.count == items.count else { throw DiffusionError("\(source): PointCloudSampler_args.\(key) has a value of the wrong type") }
            var out = converted
            if out.count == 1 && n > 1 { out = [out[0]] + Array(repeating: pad ?? out[0], count: n - 1) }
            guard out.count == n else { throw DiffusionError("\(source): PointCloudSampler_args.\(key) has \(items.count) values for \(n) stages") }
            return out
        }
        func scalar(_ key: String, _ value: Double) throws -> Double {
            guard let v = args[key] else { return value }
            guard let d = v.doubleValue else { throw DiffusionError("\(source): PointCloudSampler_args.\(key) must be a number") }
            return d
        }
        numPoints = try list("num_points", \.intValue)
        auxChannels = args["aux_channels"]?.arrayValue?.compactMap(\.stringValue) ?? ["R", "G", "B"]
        var keyFilter = try list("model_kwargs_key_filter", \.stringValue, default: ["*"])
        if keyFilter.isEmpty { keyFilter = Array(repeating: "*", count: n) }
        conditioning = keyFilter.map(Self.conditioning)
        guidance = try list("guidance_scale", \.doubleValue, default: [3.0, 3.0], pad: 1.0)
        useKarras = try list("use_karras", \.boolValue, default: [true])
        karrasSteps = try list("karras_steps", \.intValue, default: [64])
        sigmaMin = try list("sigma_min", \.doubleValue, default: [1e-3])
        sigmaMax = try list("sigma_max", \.doubleValue, default: [120, 160])
        sChurn = try list("s_churn", \.doubleValue, default: [3, 0])
        clipDenoised = args["clip_denoised"]?.boolValue ?? true
        rho = try scalar("rho", 7)
        sTmin = try scalar("s_tmin", 0)
        sTmax = try scalar("s_tmax", .infinity)
        sNoise = try scalar("s_noise", 1)
        karrasKind = try Self.karrasKind(args["karras_sampler"], source: source)
    }

    /// The reference's Karras sampler names ("heun", "ancestral", "dpm") as a `SamplerKind`.
    static func karrasKind(_ value: JSONValue?, source: String) throws -> SamplerKind {
        guard let value, !value.isNull else { return .heun }
        switch value.stringValue {
        case "heun": return .heun
        case "ancestral": return .eulerAncestral
        case "dpm": return .dpm
        default: throw DiffusionError("\(source): PointCloudSampler_args.karras_sampler \(value) is not one of heun, ancestral, dpm")
        }
    }

    /// The run's one sampler kind: DDPM when no stage uses Karras, the Karras method when all
    /// do, nil when they mix. `stated` (the JSON's "sampler_kind", reference names) must agree.
    func samplerKind(stated: JSONValue?, source: String) throws -> SamplerKind? {
        let kind: SamplerKind? = useKarras.allSatisfy { $0 } ? karrasKind : useKarras.allSatisfy { !$0 } ? .ddpm : nil
        if let stated, !stated.isNull {
            let named = stated.stringValue == "ddpm" ? SamplerKind.ddpm : try Self.karrasKind(stated, source: source + " sampler_kind")
            guard named == kind else {
                throw DiffusionError("\(source): sampler_kind \(stated) disagrees with PointCloudSampler_args (use_karras \(useKarras), karras_sampler \(karrasKind))")
            }
        }
        return kind
    }

    /// Stage `i`'s loop: `use_karras` with the Karras settings walked by `karrasKind` (through
    /// `SamplerKind.stageLoop`, as a user's choice is), else the DDPM loop (whose steps are its
    /// diffusion's respacing).
    func loop(stage i: Int) -> StageLoop {
        guard useKarras[i] else { return .ddpm }
        var karras = KarrasOptions(steps: karrasSteps[i], sigmaMin: sigmaMin[i], sigmaMax: sigmaMax[i], sChurn: sChurn[i])
        karras.rho = rho
        karras.sTmin = sTmin
        karras.sTmax = sTmax
        karras.sNoise = sNoise
        return karrasKind.stageLoop(karras: karras)
    }

    /// A `model_kwargs_key_filter` entry: "*" is everything, else the comma-separated kwargs
    /// names the stage keeps. "texts" and "embeddings" are the CLIP vector (texts once
    /// embedded), "images" the CLIP grid; other names (and "", the reference's "nothing") name
    /// no input of this sampler, so they let nothing through, as in the reference.
    static func conditioning(_ filter: String) -> StageConditioning {
        if filter == "*" { return .all }
        var inputs = Set<SamplerConditioning.Input>()
        for key in filter.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            switch key {
            case "texts", "embeddings": inputs.insert(.clipVector)
            case "images": inputs.insert(.clipGrid)
            default: break
            }
        }
        return .only(inputs)
    }
}
