import Foundation
import PointECheckpoint
import PointEDiffusion
import PointETensor

/// Checks the reference's schedules fixture (`diffusion.json` + `diffusion.io.safetensors` in
/// ../shared/parity): every setting comes from the fixture itself.
///
/// * `schedules.NAME`: the beta schedule NAME over as many timesteps as `betas_f64` holds;
///   betas and alphas_cumprod against the float64 values (relative), the float32 tables
///   `NAME.TABLE` in the safetensors (our float64 table rounded to float32, relative), and
///   `sigma_to_t` (the continuous timestep within 1e-6 x max(1, |t|), the truncated integer
///   timestep exactly) from both the JSON's float32 sigmas and the safetensors copies;
/// * `karras[]`: `get_sigmas_karras(steps, sigma_min, sigma_max, rho)` of each entry against
///   its `values_f32` and its safetensors tensor (relative, the trailing 0 exactly).
///
/// The fixture records no tolerances; the relative tolerance is `relativeTolerance`. Every
/// tensor in the safetensors must be checked by something, and every `io_tensors` entry must
/// be there with its recorded shape, so a grown fixture is an error rather than half-checked.
public struct ScheduleParity: Sendable {
    public struct Comparison: Sendable {
        public let name: String
        /// Worst relative error, or the number of mismatches for exact checks.
        public let error: Double
        public let tolerance: Double
        public let kind: Kind
        /// How many values were compared.
        public let count: Int
        public var passed: Bool { !error.isNaN && error <= tolerance }

        public enum Kind: String, Sendable { case relative = "rel err", mismatches = "mismatches" }
    }

    public let fixture: String
    public let comparisons: [Comparison]
    public var passed: Bool { !comparisons.isEmpty && comparisons.allSatisfy(\.passed) }

    /// Relative tolerance of every float comparison (float64 tables, float32 copies, sigmas).
    public static let relativeTolerance = 1e-6

    /// NAME.json lists "schedules" (an object of named schedules) and "karras" (a list).
    public static func isFixture(_ path: String) -> Bool {
        guard let json = try? JSONValue.load(path + ".json") else { return false }
        return json["schedules"]?.objectPairs != nil && json["karras"]?.arrayValue != nil
    }

    /// `path` is the fixture without extension (e.g. ../shared/parity/diffusion).
    public static func run(fixture path: String) throws -> ScheduleParity {
        let jsonPath = path + ".json"
        let json = try JSONValue.load(jsonPath)
        let io = try CheckpointLoader.load(path + ".io.safetensors")
        guard let schedules = json["schedules"]?.objectPairs, !schedules.isEmpty else {
            throw DiffusionError("\(jsonPath): no \"schedules\" to check")
        }
        guard let karrasEntries = json["karras"]?.arrayValue else { throw DiffusionError("\(jsonPath): no \"karras\" list") }
        var results: [Comparison] = []
        var checked: Set<String> = []

        func doubles(_ value: JSONValue?, _ what: String) throws -> [Double] {
            guard let items = value?.arrayValue else { throw DiffusionError("\(jsonPath): \(what) is missing or not a list") }
            let numbers = items.compactMap(\.doubleValue)
            guard numbers.count == items.count else { throw DiffusionError("\(jsonPath): \(what) holds a value that is not a number") }
            return numbers
        }
        func number(_ value: JSONValue?, _ what: String) throws -> Double {
            guard let d = value?.doubleValue else { throw DiffusionError("\(jsonPath): \(what) is missing or not a number") }
            return d
        }
        func stored(_ name: String) throws -> [Float] {
            guard io[name] != nil else { throw DiffusionError("\(io.source): tensor \"\(name)\" is missing") }
            checked.insert(name)
            return try io.floatTensor(name).values
        }
        func relative(_ name: String, _ actual: [Double], _ expected: [Double]) throws {
            guard actual.count == expected.count else {
                throw DiffusionError("\(path): \(name) has \(expected.count) values, computed \(actual.count)")
            }
            var worst = 0.0
            for (a, e) in zip(actual, expected) {
                let d = abs(a - e) / max(abs(e), 1e-300)
                if d.isNaN { worst = .nan; break }
                worst = max(worst, d)
            }
            results.append(Comparison(name: name, error: worst, tolerance: relativeTolerance, kind: .relative, count: expected.count))
        }
        func exact(_ name: String, _ actual: [Int64], _ expected: [Int64]) throws {
            guard actual.count == expected.count else {
                throw DiffusionError("\(path): \(name) has \(expected.count) values, computed \(actual.count)")
            }
            let wrong = zip(actual, expected).filter { $0 != $1 }.count
            results.append(Comparison(name: name, error: Double(wrong), tolerance: 0, kind: .mismatches, count: expected.count))
        }

        for (name, entry) in schedules {
            guard let schedule = BetaSchedule(rawValue: name) else {
                throw DiffusionError("\(jsonPath): unknown beta schedule \"\(name)\" (known: \(BetaSchedule.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            let betas = try doubles(entry["betas_f64"], "schedules.\(name).betas_f64")
            guard betas.count > 1 else { throw DiffusionError("\(jsonPath): schedules.\(name).betas_f64 needs at least 2 values") }
            let diffusion = try GaussianDiffusion(config: DiffusionConfig(schedule: schedule, timesteps: betas.count))
            try relative("\(name) betas (f64)", diffusion.betas, betas)
            try relative("\(name) alphas_cumprod (f64)", diffusion.alphasCumprod, try doubles(entry["alphas_cumprod_f64"], "schedules.\(name).alphas_cumprod_f64"))

            // The float32 tables: NAME.TABLE for every stored table.
            let tables: [String: [Double]] = [
                "betas": diffusion.betas, "alphas_cumprod": diffusion.alphasCumprod, "alphas_cumprod_prev": diffusion.alphasCumprodPrev,
                "sqrt_recip_alphas_cumprod": diffusion.sqrtRecipAlphasCumprod,
                "sqrt_recipm1_alphas_cumprod": diffusion.sqrtRecipm1AlphasCumprod,
                "posterior_variance": diffusion.posteriorVariance,
                "posterior_log_variance_clipped": diffusion.posteriorLogVarianceClipped,
                "posterior_mean_coef1": diffusion.posteriorMeanCoef1, "posterior_mean_coef2": diffusion.posteriorMeanCoef2,
            ]
            for key in io.keys.sorted() where key.hasPrefix(name + ".") && !key.hasPrefix(name + ".sigma_to_t.") {
                let table = String(key.dropFirst(name.count + 1))
                guard let values = tables[table] else {
                    throw DiffusionError("\(io.source): \(key): no table \"\(table)\" to check it against (known: \(tables.keys.sorted().joined(separator: ", ")))")
                }
                // float32 roundings of the float64 tables: compare as float32.
                try relative("\(key) (f32)", values.map { Double(Float($0)) }, try stored(key).map(Double.init))
            }

            // sigma -> t from the JSON's float32 sigmas (float64 t) and the safetensors copies.
            let karras = GaussianToKarras(diffusion: diffusion)
            if let cases = entry["sigma_to_t"] {
                guard let list = cases.arrayValue, !list.isEmpty else { throw DiffusionError("\(jsonPath): schedules.\(name).sigma_to_t is not a list of cases") }
                var worst = 0.0
                var ours: [Int64] = [], theirs: [Int64] = []
                for (i, c) in list.enumerated() {
                    let sigma = Float(try number(c["sigma_f32"], "schedules.\(name).sigma_to_t[\(i)].sigma_f32"))
                    let t = try number(c["t"], "schedules.\(name).sigma_to_t[\(i)].t")
                    guard let tLong = c["t_long"]?.intValue else { throw DiffusionError("\(jsonPath): schedules.\(name).sigma_to_t[\(i)].t_long is missing or not an integer") }
                    let d = abs(karras.continuousTimestep(sigma: sigma) - t) / max(abs(t), 1)
                    worst = d.isNaN ? .nan : max(worst, d)
                    ours.append(Int64(karras.timestep(sigma: sigma)))
                    theirs.append(Int64(tLong))
                }
                results.append(Comparison(name: "\(name) sigma_to_t t (f64)", error: worst, tolerance: relativeTolerance, kind: .relative,
                                          count: list.count))
                try exact("\(name) sigma_to_t t_long", ours, theirs)
            }
            let sigmaKey = "\(name).sigma_to_t.sigma"
            if io[sigmaKey] != nil {
                let sigmas = try stored(sigmaKey)
                if io["\(name).sigma_to_t.t"] != nil {
                    let t = try stored("\(name).sigma_to_t.t").map(Double.init)
                    guard t.count == sigmas.count else { throw DiffusionError("\(io.source): \(name).sigma_to_t.t and .sigma differ in length") }
                    let worst = zip(sigmas, t).map { abs(Double(Float(karras.continuousTimestep(sigma: $0))) - $1) / max(abs($1), 1) }.max() ?? 0
                    results.append(Comparison(name: "\(name).sigma_to_t.t (f32)", error: worst, tolerance: relativeTolerance, kind: .relative,
                                              count: t.count))
                }
                let longKey = "\(name).sigma_to_t.t_long"
                guard let longs = io[longKey] else { throw DiffusionError("\(io.source): \(sigmaKey) without \(longKey)") }
                checked.insert(longKey)
                try exact("\(longKey) (f32 sigma)", sigmas.map { Int64(karras.timestep(sigma: $0)) }, try longs.int64Values())
            }
        }

        for (i, entry) in karrasEntries.enumerated() {
            guard let steps = entry["steps"]?.intValue, steps >= 1 else { throw DiffusionError("\(jsonPath): karras[\(i)].steps is missing or not a positive integer") }
            let sigmaMin = try number(entry["sigma_min"], "karras[\(i)].sigma_min")
            let sigmaMax = try number(entry["sigma_max"], "karras[\(i)].sigma_max")
            let rho = try number(entry["rho"], "karras[\(i)].rho")
            let sigmas = karrasSigmas(steps: steps, sigmaMin: sigmaMin, sigmaMax: sigmaMax, rho: rho).map(Double.init)
            let label = "karras \(steps) steps sigma \(sigmaMin)...\(sigmaMax) rho \(rho)"
            // Relative error, so the trailing 0 must be exactly 0.
            try relative("\(label) (values_f32)", sigmas, try doubles(entry["values_f32"], "karras[\(i)].values_f32"))
            if let tensor = entry["tensor"]?.stringValue {
                try relative("\(tensor) (f32)", sigmas, try stored(tensor).map(Double.init))
            }
        }

        // The safetensors' table of contents, and nothing left unchecked.
        for (name, shape) in json["io_tensors"]?.objectPairs ?? [] {
            guard let tensor = io[name] else { throw DiffusionError("\(io.source): io_tensors lists \"\(name)\", which is missing") }
            let recorded = shape.arrayValue?.compactMap(\.intValue)
            guard recorded == tensor.shape else {
                throw DiffusionError("\(io.source): \(name) has shape \(tensor.shape), io_tensors records \(shape)")
            }
        }
        let unchecked = io.keys.filter { !checked.contains($0) }.sorted()
        guard unchecked.isEmpty else {
            throw DiffusionError("\(io.source): tensors the schedules check does not know: \(unchecked.joined(separator: ", "))")
        }
        return ScheduleParity(fixture: path, comparisons: results)
    }

    /// A verdict line, then one line per comparison (`pointe parity`'s format).
    public func reportLines() -> [String] {
        [ParityReport.verdict(fixture, passed: passed, kind: "schedules")] + comparisons.map { c in
            let numbers = c.kind == .mismatches ? String(format: " %.0f  tol %.0f", c.error, c.tolerance)
                : String(format: " %.3e  tol %.0e", c.error, c.tolerance)
            return ParityReport.comparison(passed: c.passed, name: c.name, width: 44, detail: " \(c.kind.rawValue)" + numbers + "  (\(c.count) values)")
        }
    }
}
