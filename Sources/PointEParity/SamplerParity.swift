import Foundation
import PointEDiffusion
import PointEMesh
import PointEModels
import PointETensor

/// Replays a reference sampler fixture and compares against what it recorded:
///
/// * teacher-forced, per stage: the Karras sigmas; the network on every recorded input
///   (1e-4 x max(1, max|expected|)); the network inputs and integer timesteps derived from the
///   recorded x and sigma_hat (timesteps exactly); the guided, clipped denoiser output of every
///   step (1e-3);
/// * free-running from the recorded noise: the final coordinates (max 0.05, mean 1e-3) and
///   colours (4/255) of the point clouds.
public struct SamplerParity {
    public struct Comparison: Sendable {
        public let name: String
        public let maxAbsError: Float
        public let meanAbsError: Float
        public let maxAbsExpected: Float
        public let tolerance: Float
        /// A second bound on the mean error, where the check has one.
        public let meanTolerance: Float?
        public var passed: Bool {
            !maxAbsError.isNaN && maxAbsError <= tolerance && (meanTolerance.map { meanAbsError <= $0 } ?? true)
        }
    }

    public let fixture: String
    public let comparisons: [Comparison]
    public var passed: Bool { !comparisons.isEmpty && comparisons.allSatisfy(\.passed) }

    public static let denoisedTolerance: Float = 1e-3
    public static let coordsMaxTolerance: Float = 0.05
    public static let coordsMeanTolerance: Float = 1e-3
    public static let colorTolerance: Float = 4 / 255

    public static func networkTolerance(_ maxExpected: Float) -> Float { 1e-4 * max(1, maxExpected) }

    /// `path` is the fixture without extension (e.g. ../shared/parity/sampler_text2pc).
    public static func run(fixture path: String, teacherForced: Bool = true, freeRunning: Bool = true) throws -> SamplerParity {
        let fixture = try SamplerFixture(path: path)
        var results: [Comparison] = []
        if teacherForced {
            var lowRes: Tensor?
            for (index, stage) in fixture.sampler.stages.enumerated() {
                if index > 0 {
                    // The stage's recorded low_res; when guided it was doubled with zeros, and the
                    // conditioning builder doubles it again from the first half.
                    let recorded = try fixture.tensor("stage\(index).model_kwargs.low_res")
                    lowRes = ElementWise.batchSlice(recorded, 0..<fixture.batchSize)
                }
                results += try teacherForcedStage(fixture, index: index, stage: stage, lowRes: lowRes)
            }
        }
        if freeRunning { results += try freeRun(fixture) }
        return SamplerParity(fixture: path, comparisons: results)
    }

    static func compare(_ name: String, _ actual: Tensor, _ expected: Tensor, tolerance: (Float) -> Float,
                        meanTolerance: Float? = nil) throws -> Comparison {
        guard actual.shape == expected.shape else { throw DiffusionError("\(name): computed shape \(actual.shape), recorded \(expected.shape)") }
        var maxError: Float = 0, sum: Double = 0
        for i in 0..<actual.count {
            let d = abs(actual.pointer[i] - expected.pointer[i])
            if d.isNaN { maxError = .nan; break }
            maxError = max(maxError, d)
            sum += Double(d)
        }
        let maxExpected = expected.maxAbs
        return Comparison(name: name, maxAbsError: maxError, meanAbsError: Float(sum / Double(max(actual.count, 1))),
                          maxAbsExpected: maxExpected, tolerance: tolerance(maxExpected), meanTolerance: meanTolerance)
    }

    /// Keeps the comparison closest to (or furthest over) its tolerance, so many checks of one
    /// kind report as one line.
    static func worst(_ name: String, _ items: [Comparison]) -> Comparison? {
        guard let w = items.max(by: { ratio($0) < ratio($1) }) else { return nil }
        return Comparison(name: "\(name) (\(items.count))", maxAbsError: w.maxAbsError, meanAbsError: w.meanAbsError,
                          maxAbsExpected: w.maxAbsExpected, tolerance: w.tolerance, meanTolerance: w.meanTolerance)
    }

    static func ratio(_ c: Comparison) -> Float {
        c.maxAbsError.isNaN ? .infinity : (c.tolerance > 0 ? c.maxAbsError / c.tolerance : (c.maxAbsError > 0 ? .infinity : 0))
    }

    static func teacherForcedStage(_ fixture: SamplerFixture, index: Int, stage: SamplerStage, lowRes: Tensor?) throws -> [Comparison] {
        let prefix = "stage\(index)"
        let batch = fixture.batchSize
        var out: [Comparison] = []
        // Every check below follows the Karras loop (sigmas, sigma_hat, denoised per step).
        guard case .karras(let options) = stage.loop else {
            throw DiffusionError("\(fixture.path): \(prefix) runs the DDPM loop; the teacher-forced replay covers Karras stages only")
        }
        let sigmas = karrasSigmas(steps: options.steps, sigmaMin: options.sigmaMin, sigmaMax: options.sigmaMax, rho: options.rho)
        out.append(try compare("\(prefix).sigmas", Tensor(shape: [sigmas.count], values: sigmas), try fixture.tensor("\(prefix).sigmas"),
                               tolerance: { 1e-6 * max($0, 1e-30) }))

        // The network on every recorded call.
        let conditioning = try stage.networkConditioning(fixture.conditioning, lowRes: lowRes, batch: batch)
        let inputs = try fixture.tensor("\(prefix).model_in_x")
        let timesteps = try fixture.int64s("\(prefix).model_in_t")
        let outputs = try fixture.tensor("\(prefix).model_out")
        let calls = inputs.shape[0], callBatch = inputs.shape[1]
        var network: [Comparison] = []
        for k in 0..<calls {
            let x = ElementWise.batchSlice(inputs, k..<(k + 1)).reshaped(Array(inputs.shape.dropFirst()))
            let t = timesteps[(k * callBatch)..<((k + 1) * callBatch)].map { Float($0) }
            let result = try stage.model(x, timesteps: t, conditioning: conditioning)
            let expected = ElementWise.batchSlice(outputs, k..<(k + 1)).reshaped(Array(outputs.shape.dropFirst()))
            network.append(try compare("\(prefix).model_out[\(k)]", result, expected, tolerance: networkTolerance))
        }
        if let w = worst("\(prefix).model_out", network) { out.append(w) }

        // Inputs and timesteps derived from the recorded steps: call 2i is at (x[i], sigma_hat[i]);
        // call 2i + 1 (Heun's correction) is at sigma[i + 1].
        let karras = GaussianToKarras(diffusion: stage.diffusion)
        let xs = try fixture.tensor("\(prefix).x")
        let sigmaHats = try fixture.tensor("\(prefix).sigma_hat").values
        var modelInputs: [Comparison] = []
        var timestepErrors: Float = 0
        var call = 0
        for i in 0..<sigmaHats.count {
            let x = ElementWise.batchSlice(xs, i..<(i + 1)).reshaped(Array(xs.shape.dropFirst()))
            let doubledX = stage.isGuided ? ElementWise.concatBatch([x, x]) : x
            let (input, t) = karras.modelInputs(x: doubledX, sigmas: [Float](repeating: sigmaHats[i], count: doubledX.shape[0]))
            guard call < calls else { throw DiffusionError("\(fixture.io.source): fewer recorded network calls than steps") }
            let recorded = ElementWise.batchSlice(inputs, call..<(call + 1)).reshaped(Array(inputs.shape.dropFirst()))
            modelInputs.append(try compare("\(prefix).model_in_x[\(call)]", input, recorded, tolerance: networkTolerance))
            for (j, tj) in t.enumerated() {
                timestepErrors = max(timestepErrors, Float(abs(Int64(stage.diffusion.timestepMap[tj]) - timesteps[call * callBatch + j])))
            }
            call += 1
            if i + 1 < sigmaHats.count, sigmas[i + 1] != 0, call < calls {
                let tNext = stage.diffusion.timestepMap[karras.timestep(sigma: sigmas[i + 1])]
                for j in 0..<callBatch { timestepErrors = max(timestepErrors, Float(abs(Int64(tNext) - timesteps[call * callBatch + j]))) }
                call += 1
            }
        }
        if let w = worst("\(prefix).model_in_x", modelInputs) { out.append(w) }
        out.append(Comparison(name: "\(prefix).model_in_t (exact)", maxAbsError: timestepErrors, meanAbsError: 0,
                              maxAbsExpected: Float(stage.diffusion.numTimesteps - 1), tolerance: 0, meanTolerance: nil))

        // The guided, clipped denoiser at every recorded (x, sigma_hat).
        let denoiser = stage.denoiser(conditioning: conditioning, clipDenoised: fixture.sampler.clipDenoised, onNetwork: nil)
        let denoised = try fixture.tensor("\(prefix).denoised")
        var steps: [Comparison] = []
        for i in 0..<sigmaHats.count {
            let x = ElementWise.batchSlice(xs, i..<(i + 1)).reshaped(Array(xs.shape.dropFirst()))
            let expected = ElementWise.batchSlice(denoised, i..<(i + 1)).reshaped(Array(denoised.shape.dropFirst()))
            steps.append(try compare("\(prefix).denoised[\(i)]", try denoiser(x, sigmaHats[i]), expected, tolerance: { _ in denoisedTolerance }))
        }
        if let w = worst("\(prefix).denoised", steps) { out.append(w) }
        return out
    }

    /// The free-running replay, with the fixture's own sampler or `sampler` (e.g. the engine's,
    /// built from settings, to show that it is the reference's sampler).
    public static func freeRun(_ fixture: SamplerFixture, sampler: PointCloudSampler? = nil) throws -> [Comparison] {
        let sampler = sampler ?? fixture.sampler
        let noise = try fixture.replayNoise()
        let samples = try sampler.sample(batchSize: fixture.batchSize, conditioning: fixture.conditioning, noise: noise)
        guard noise.remaining == 0 else {
            throw DiffusionError("\(fixture.io.source): the sampler used \(noise.position) of \(noise.position + noise.remaining) recorded draws")
        }
        let expected = try fixture.tensor("samples")
        guard samples.shape == expected.shape else {
            throw DiffusionError("\(fixture.io.source): sampled \(samples.shape), recorded samples \(expected.shape)")
        }
        let clouds = sampler.pointClouds(samples)
        let n = clouds[0].count
        let coords = Tensor(shape: [clouds.count, n, 3], values: clouds.flatMap(\.coords))
        let rgb = Tensor(shape: [clouds.count, n, 3], values: clouds.flatMap { cloud in
            (0..<n).flatMap { i in ["R", "G", "B"].map { cloud.channel($0)?[i] ?? .nan } }
        })
        return [
            try compare("free-running pc.coords", coords, try fixture.tensor("pc.coords"), tolerance: { _ in coordsMaxTolerance },
                        meanTolerance: coordsMeanTolerance),
            // Colours are multiples of 1/255; the slack absorbs float division rounding only.
            try compare("free-running pc.rgb", rgb, try fixture.tensor("pc.rgb"), tolerance: { _ in colorTolerance + 1e-6 }),
        ]
    }
}

extension SamplerParity {
    /// A human-readable report: a verdict line, then one line per comparison.
    public func reportLines() -> [String] {
        [ParityReport.verdict(fixture, passed: passed, kind: "sampler replay")] + comparisons.map { c in
            var detail = String(format: " max|err| %.3e  tol %.3e", Double(c.maxAbsError), Double(c.tolerance))
            if let mean = c.meanTolerance {
                detail += String(format: "  mean|err| %.3e  tol %.3e", Double(c.meanAbsError), Double(mean))
            }
            return ParityReport.comparison(passed: c.passed, name: c.name, width: 34, detail: detail)
        }
    }
}
