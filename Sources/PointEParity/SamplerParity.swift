import Foundation
import PointECloud
import PointEDiffusion
import PointEMesh
import PointEModels
import PointETensor

/// Replays a reference sampler fixture and compares against what it recorded:
///
/// * teacher-forced, per stage: the Karras sigmas (and sigma_hat where recorded); the network on
///   every recorded input (1e-4 x max(1, max|expected|)); every step of the stage's loop from
///   the recorded state, with the recorded draws and the recorded network outputs in place of
///   the network (so only the sampler's own arithmetic is checked): each network call's input
///   (1e-4 relative) and integer timesteps (exactly), the step's x0 prediction and where it
///   leads (`stepTolerance`), and the stage's final prediction; the live guided, clipped
///   denoiser at every recorded step (1e-3);
/// * free-running from the recorded noise: the final coordinates and colours of the point clouds,
///   within `freeRunningMaxTolerance` / `freeRunningMeanTolerance` in the sampler's own units
///   (for the released scales: coordinates max 0.05 / mean 1e-3, colours max 13.75/255 / mean
///   1e-3).
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

    /// A free-running run is compared in the units the sampler works in: every channel scaled
    /// by the diffusion's channel_scales, so coordinates and colours alike lie in about [-1, 1]
    /// and one bound serves both. Free-running, float32 rounding is amplified (guidance x3, the
    /// eps -> x0 step at high sigma, churn), and how far depends on the sgemm's summation order,
    /// which OpenBLAS picks per CPU. Measured: pointe's own clouds under OpenBLAS's SKYLAKEX,
    /// COOPERLAKE, HASWELL, SANDYBRIDGE, NEHALEM and PRESCOTT kernels (each at parity when
    /// teacher-forced) differ from one another by up to 0.058 in these units on sampler_image2pc
    /// (one green value of the upsampler's: 239.5 of 255 under HASWELL, 246.0 under SKYLAKEX and
    /// in the reference), mean at most 2e-4; on the other fixtures by under 3e-3. So a max bound
    /// under ~0.06 passes or fails by the machine's kernels, not by the sampler; 0.1 leaves
    /// margin, and the mean bound (10x the worst measured mean) catches a sampler that is off
    /// everywhere by a little. (On the released scales: coordinates 0.05 / 1e-3, colours
    /// 12.75 / 0.255 of 255.)
    public static let freeRunningMaxTolerance: Float = 0.1
    public static let freeRunningMeanTolerance: Float = 2e-3

    public static func networkTolerance(_ maxExpected: Float) -> Float { 1e-4 * max(1, maxExpected) }

    /// A teacher-forced step with the recorded network outputs differs from the reference by
    /// float32 rounding only: op order, the data-unit yields scaled back, and at the noisiest
    /// steps the x0 = x / sqrt(abar) - eps * sqrt(1 / abar - 1) amplification (up to ~100x).
    public static func stepTolerance(_ maxExpected: Float) -> Float { 1e-4 * max(1, maxExpected) }

    /// `path` is the fixture without extension (e.g. ../shared/parity/sampler_text2pc).
    public static func run(fixture path: String, teacherForced: Bool = true, freeRunning: Bool = true) throws -> SamplerParity {
        let fixture = try SamplerFixture(path: path)
        var results: [Comparison] = []
        if teacherForced {
            for index in fixture.sampler.stages.indices {
                results += try teacherForcedStage(fixture, recorded: try RecordedStage(fixture, stage: index))
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

    static func teacherForcedStage(_ fixture: SamplerFixture, recorded: RecordedStage) throws -> [Comparison] {
        let index = recorded.index
        let stage = fixture.sampler.stages[index]
        let prefix = "stage\(index)"
        let source = "\(fixture.io.source) \(prefix)"
        let clip = fixture.sampler.clipDenoised
        let conditioning = try stage.networkConditioning(fixture.conditioning, lowRes: recorded.lowRes, batch: fixture.batchSize)
        var out: [Comparison] = []

        // The network on every recorded call.
        var network: [Comparison] = []
        for (k, input) in recorded.callInputs.enumerated() {
            let result = try stage.model(input, timesteps: recorded.callTimesteps[k].map { Float($0) }, conditioning: conditioning)
            network.append(try compare("\(prefix).model_out[\(k)]", result, recorded.callOutputs[k], tolerance: networkTolerance))
        }
        if let w = worst("\(prefix).model_out", network) { out.append(w) }

        // The stage's loop from the recorded state, the recorded outputs standing in for the
        // network: each call's input and timesteps are checked as the loop makes them.
        let calls = RecordedCalls(recorded, prefix: prefix, source: source)
        let live = stage.perSampleNetwork(conditioning: conditioning, onNetwork: nil)
        var steps: [Comparison] = [], predictions: [Comparison] = [], denoised: [Comparison] = []
        switch stage.loop {
        case .karras(let options):
            let sigmas = karrasSigmas(steps: options.steps, sigmaMin: options.sigmaMin, sigmaMax: options.sigmaMax, rho: options.rho)
            out.append(try compare("\(prefix).sigmas", Tensor(shape: [sigmas.count], values: sigmas), try fixture.tensor("\(prefix).sigmas"),
                                   tolerance: { 1e-6 * max($0, 1e-30) }))
            guard recorded.steps == options.steps else {
                throw DiffusionError("\(source): \(recorded.steps) recorded steps, the stage takes \(options.steps)")
            }
            let sigmaHats = (0..<options.steps).map { KarrasSampler.sigmaHat(step: $0, sigmas: sigmas, options: options) }
            if let expected = recorded.sigmaHats {
                out.append(try compare("\(prefix).sigma_hat", Tensor(shape: [sigmaHats.count], values: sigmaHats),
                                       Tensor(shape: [expected.count], values: expected), tolerance: { 1e-6 * max($0, 1e-30) }))
            }
            let replayed = stage.denoiser(network: calls.next, clipDenoised: clip)
            // x_T and the first step's churn from the recorded draws.
            let first = KarrasSampler.begin(KarrasSampler.start(recorded.initialDraw, options: options), step: 0, sigmas: sigmas,
                                            options: options, draw: recorded.stepDraws[0])
            steps.append(try compare("\(prefix).x[0]", first.x, recorded.states[0], tolerance: stepTolerance))
            let liveDenoiser = stage.denoiser(network: live, clipDenoised: clip)
            var last: (x: Tensor, denoised: Tensor)?
            for i in 0..<options.steps {
                let x = recorded.states[i]
                let step = try KarrasSampler.advance(x, sigmaHat: sigmaHats[i], step: i, sigmas: sigmas, options: options,
                                                     draw: recorded.stepDraws[i], denoiser: replayed)
                predictions.append(try compare("\(prefix).denoised[\(i)]", step.denoised, recorded.predictions[i], tolerance: stepTolerance))
                let next = i + 1 < options.steps
                    ? KarrasSampler.begin(step.next, step: i + 1, sigmas: sigmas, options: options, draw: recorded.stepDraws[i + 1]).x
                    : step.next
                steps.append(try compare("\(prefix).x[\(i + 1)]", next, recorded.states[i + 1], tolerance: stepTolerance))
                last = (step.next, step.denoised)
                denoised.append(try compare("\(prefix).denoised[\(i)]", try liveDenoiser(x, sigmaHats[i]), recorded.predictions[i],
                                            tolerance: { _ in denoisedTolerance }))
            }
            if let last {
                predictions.append(try compare("\(prefix).final pred_xstart",
                                               KarrasSampler.finalPrediction(options.method, x: last.x, lastDenoised: last.denoised),
                                               recorded.finalPrediction, tolerance: stepTolerance))
            }
        case .ddpm:
            guard recorded.steps == stage.diffusion.numTimesteps else {
                throw DiffusionError("\(source): \(recorded.steps) recorded steps, the stage's diffusion has \(stage.diffusion.numTimesteps)")
            }
            let replayed = stage.ddpmNetwork(calls.next), liveNetwork = stage.ddpmNetwork(live)
            for (i, t) in (0..<stage.diffusion.numTimesteps).reversed().enumerated() {
                let x = recorded.states[i]
                let step = try DDPMSampler.step(diffusion: stage.diffusion, x: x, timestep: t, draw: recorded.stepDraws[i],
                                                clipDenoised: clip, network: replayed)
                predictions.append(try compare("\(prefix).pred_xstart[\(i)]", step.predXStart, recorded.predictions[i], tolerance: stepTolerance))
                steps.append(try compare("\(prefix).x[\(i + 1)]", step.sample, recorded.states[i + 1], tolerance: stepTolerance))
                let liveStep = try DDPMSampler.step(diffusion: stage.diffusion, x: x, timestep: t, draw: recorded.stepDraws[i],
                                                    clipDenoised: clip, network: liveNetwork)
                denoised.append(try compare("\(prefix).pred_xstart[\(i)]", liveStep.predXStart, recorded.predictions[i],
                                            tolerance: { _ in denoisedTolerance }))
            }
            // The stage's points are its last step's prediction; the replay compared exactly that.
        }
        try calls.finish()
        if let w = worst("\(prefix).model_in_x", calls.inputs) { out.append(w) }
        out.append(Comparison(name: "\(prefix).model_in_t (exact)", maxAbsError: calls.timestepError, meanAbsError: 0,
                              maxAbsExpected: Float(stage.diffusion.config.timesteps - 1), tolerance: 0, meanTolerance: nil))
        if let w = worst("\(prefix).steps x", steps) { out.append(w) }
        if let w = worst("\(prefix).steps pred_xstart", predictions) { out.append(w) }
        // The live network's x0 at every recorded step (guided, clipped).
        if let w = worst("\(prefix).denoised", denoised) { out.append(w) }
        return out
    }

    /// The free-running replay, with the fixture's own sampler or `sampler` (e.g. the engine's,
    /// built from settings, to show that it is the reference's sampler). A sampler of only the
    /// fixture's first n stages gets only their draws and is compared with what the reference
    /// had after them: stage n - 1's last yield, as point clouds.
    public static func freeRun(_ fixture: SamplerFixture, sampler: PointCloudSampler? = nil) throws -> [Comparison] {
        let sampler = sampler ?? fixture.sampler
        let stages = sampler.stages.count, recordedStages = fixture.sampler.stages.count
        guard stages <= recordedStages else {
            throw DiffusionError("\(fixture.io.source): a sampler of \(stages) stages cannot replay a run of \(recordedStages)")
        }
        let noise = try fixture.replayNoise(stages: stages)
        let samples = try sampler.sample(batchSize: fixture.batchSize, conditioning: fixture.conditioning, noise: noise)
        guard noise.remaining == 0 else {
            throw DiffusionError("\(fixture.io.source): the sampler used \(noise.position) of \(noise.position + noise.remaining) recorded draws")
        }
        let whole = stages == recordedStages
        let expected = whole ? try fixture.tensor("samples") : try fixture.lastYield(stage: stages - 1)
        guard samples.shape == expected.shape else {
            throw DiffusionError("\(fixture.io.source): sampled \(samples.shape), recorded \(whole ? "samples" : "stage\(stages - 1) yield") \(expected.shape)")
        }
        let (coords, rgb) = cloudTensors(sampler.pointClouds(samples))
        let (expectedCoords, expectedRGB) = whole ? (try fixture.tensor("pc.coords"), try fixture.tensor("pc.rgb"))
            : cloudTensors(sampler.pointClouds(expected))
        let label = whole ? "free-running" : "free-running stages 0..<\(stages)"
        let coordsUnit = dataUnitsPerSamplerUnit(sampler.stages, channels: 0..<3)
        // pc.rgb is the channel (0...255) rounded, over 255: rounding moves a value by at most
        // one step more; the 1e-6 absorbs the division's float rounding.
        let colorChannels = ["R", "G", "B"].compactMap { sampler.auxChannels.firstIndex(of: $0).map { 3 + $0 } }
        let colorUnit = dataUnitsPerSamplerUnit(sampler.stages, channels: colorChannels) / 255
        return [
            try compare("\(label) pc.coords", coords, expectedCoords, tolerance: { _ in freeRunningMaxTolerance * coordsUnit },
                        meanTolerance: freeRunningMeanTolerance * coordsUnit),
            try compare("\(label) pc.rgb", rgb, expectedRGB, tolerance: { _ in freeRunningMaxTolerance * colorUnit + 1 / 255 + 1e-6 },
                        meanTolerance: freeRunningMeanTolerance * colorUnit),
        ]
    }

    /// How many data units (what the clouds hold) one unit of the sampler's space spans in
    /// `channels`: 1 / channel_scale, the widest over the channels and stages (1 where a
    /// diffusion does not scale).
    static func dataUnitsPerSamplerUnit(_ stages: [SamplerStage], channels: some Collection<Int>) -> Float {
        stages.flatMap { stage in channels.map { 1 / Float(stage.diffusion.config.channelScales?[$0] ?? 1) } }.max() ?? 1
    }

    /// Clouds as the reference's `pc.coords` / `pc.rgb` tensors: [B, N, 3] each, RGB in 0...1.
    static func cloudTensors(_ clouds: [PointCloud]) -> (coords: Tensor, rgb: Tensor) {
        let n = clouds.first?.count ?? 0
        let coords = Tensor(shape: [clouds.count, n, 3], values: clouds.flatMap(\.coords))
        let rgb = Tensor(shape: [clouds.count, n, 3], values: clouds.flatMap { cloud in
            (0..<n).flatMap { i in ["R", "G", "B"].map { cloud.channel($0)?[i] ?? .nan } }
        })
        return (coords, rgb)
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
