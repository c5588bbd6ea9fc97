import Foundation
import PointEDiffusion
import PointETensor

/// One stage of a recorded sampler run, as the teacher-forced replay walks it, read from either
/// layout the fixtures use:
///
/// * the Heun fixtures: `x` (where each step evaluates the denoiser), `sigma_hat`, `denoised`,
///   then `x_final` and `pred_xstart_final`, in the model's scaled space;
/// * the other samplers' fixtures: `step_x` and `step_pred_xstart`, what the stage loop
///   yields (Karras: each step's x and x0 prediction, then the final pair; DDPM: each step's
///   sample x_{t-1} and x0 prediction). The reference passes every yield through
///   `unscale_out_dict`, so these are in data units (xyz, RGB 0..255) whatever the notes say:
///   the first step's x reproduces the recorded network input only once scaled back, which is
///   done here (x * scale + bias, as the sampler scales its inputs).
///
/// A guided DDPM stage ran its loop on 2B rows (`SamplerFixture.doublesBatch`); only the first
/// B are kept, the sampler's own rows.
struct RecordedStage {
    let index: Int
    /// What each step starts from, then where the stage ends (steps + 1 entries, scaled space).
    /// Karras: the x at which step i evaluates the denoiser (after churn), then the final x.
    /// DDPM: x_t going into step i (x_T first), then the final sample.
    let states: [Tensor]
    /// Each step's x0 prediction (Karras: denoised at (x, sigma_hat); DDPM: pred_xstart).
    let predictions: [Tensor]
    /// The x0 prediction the stage leaves as its points (its last yield).
    let finalPrediction: Tensor
    /// sigma_hat of each step, where the fixture records it (the Heun layout).
    let sigmaHats: [Float]?
    /// The stage's draws, one row per sample: x_T's, then one per step.
    let initialDraw: Tensor
    let stepDraws: [Tensor]
    /// Every network call in order: inputs (guidance-doubled batch), timesteps, outputs.
    let callInputs: [Tensor]
    let callTimesteps: [[Int64]]
    let callOutputs: [Tensor]
    /// The upsampler's low_res input (the previous stages' points, one row per sample).
    let lowRes: Tensor?

    var steps: Int { predictions.count }

    init(_ fixture: SamplerFixture, stage index: Int) throws {
        self.index = index
        let prefix = "stage\(index)"
        let stage = fixture.sampler.stages[index]
        let batch = fixture.batchSize
        let ownRows = { (t: Tensor) in t.shape.first == batch ? t : ElementWise.batchSlice(t, 0..<batch) }
        func entries(_ name: String) throws -> [Tensor] {
            let whole = try fixture.tensor(name)
            return (0..<whole.shape[0]).map { ElementWise.batchSlice(whole, $0..<($0 + 1)).reshaped(Array(whole.shape.dropFirst())) }
        }

        initialDraw = try fixture.draw("\(prefix).noise_xT")
        let eps = try fixture.tensor("\(prefix).eps")
        stepDraws = try (0..<eps.shape[0]).map { try fixture.draw("\(prefix).eps[\($0)]") }
        callInputs = try entries("\(prefix).model_in_x")
        callOutputs = try entries("\(prefix).model_out")
        let timesteps = try fixture.int64s("\(prefix).model_in_t")
        let perCall = callInputs.first?.shape.first ?? 0
        guard timesteps.count == callInputs.count * perCall else {
            throw DiffusionError("\(fixture.io.source): \(prefix).model_in_t has \(timesteps.count) values for \(callInputs.count) calls of \(perCall) rows")
        }
        callTimesteps = (0..<callInputs.count).map { Array(timesteps[($0 * perCall)..<(($0 + 1) * perCall)]) }

        if fixture.io["\(prefix).step_x"] != nil {
            // Yields, in data units; a guided DDPM stage's rows doubled.
            let xs = try entries("\(prefix).step_x").map { stage.diffusion.scaleChannels(ownRows($0)) }
            let preds = try entries("\(prefix).step_pred_xstart").map { stage.diffusion.scaleChannels(ownRows($0)) }
            switch stage.loop {
            case .karras:
                guard xs.count == preds.count, xs.count >= 2 else {
                    throw DiffusionError("\(fixture.io.source): \(prefix).step_x / step_pred_xstart need steps + 1 yields, got \(xs.count) / \(preds.count)")
                }
                states = xs
                predictions = Array(preds.dropLast())
                finalPrediction = preds[preds.count - 1]
            case .ddpm:
                guard xs.count == preds.count, !xs.isEmpty else {
                    throw DiffusionError("\(fixture.io.source): \(prefix).step_x / step_pred_xstart need one yield per step, got \(xs.count) / \(preds.count)")
                }
                states = [initialDraw] + xs
                predictions = preds
                finalPrediction = preds[preds.count - 1]
            }
            sigmaHats = nil
        } else {
            guard case .karras = stage.loop else {
                throw DiffusionError("\(fixture.io.source): \(prefix) runs the DDPM loop but has no step_x / step_pred_xstart yields")
            }
            states = try entries("\(prefix).x") + [try fixture.tensor("\(prefix).x_final")]
            predictions = try entries("\(prefix).denoised")
            finalPrediction = try fixture.tensor("\(prefix).pred_xstart_final")
            sigmaHats = try fixture.tensor("\(prefix).sigma_hat").values
        }
        guard stepDraws.count == predictions.count else {
            throw DiffusionError("\(fixture.io.source): \(prefix) records \(stepDraws.count) step draws for \(predictions.count) steps")
        }

        // The upsampler's low_res: recorded as given to the stage (then guidance-doubled: the
        // first B rows), or else what the previous stage yielded last (its samples).
        if index == 0 {
            lowRes = nil
        } else if fixture.io["\(prefix).model_kwargs.low_res"] != nil {
            lowRes = ownRows(try fixture.tensor("\(prefix).model_kwargs.low_res"))
        } else {
            lowRes = try entries("stage\(index - 1).yield_samples").last
        }
    }
}

/// A stage's recorded network calls served in order in place of the network (`next`), each
/// input and timestep checked against the recorded one as the replayed loop makes it.
final class RecordedCalls {
    let recorded: RecordedStage
    let prefix: String
    let source: String
    private(set) var position = 0
    private(set) var inputs: [SamplerParity.Comparison] = []
    /// The largest |ours - recorded| of the network timesteps (integers: any difference is a bug).
    private(set) var timestepError: Float = 0

    init(_ recorded: RecordedStage, prefix: String, source: String) {
        self.recorded = recorded
        self.prefix = prefix
        self.source = source
    }

    var next: (Tensor, [Float]) throws -> Tensor { { try self.call($0, $1) } }

    func call(_ x: Tensor, _ t: [Float]) throws -> Tensor {
        let k = position
        guard k < recorded.callInputs.count else {
            throw DiffusionError("\(source): the replayed loop makes more network calls than the \(recorded.callInputs.count) recorded")
        }
        guard x.shape == recorded.callInputs[k].shape else {
            throw DiffusionError("\(source): network call \(k) gets x \(x.shape), the reference's \(recorded.callInputs[k].shape)")
        }
        inputs.append(try SamplerParity.compare("\(prefix).model_in_x[\(k)]", x, recorded.callInputs[k], tolerance: SamplerParity.networkTolerance))
        guard t.count == recorded.callTimesteps[k].count else {
            throw DiffusionError("\(source): network call \(k) has \(t.count) timesteps, the reference's \(recorded.callTimesteps[k].count)")
        }
        for (ours, theirs) in zip(t, recorded.callTimesteps[k]) { timestepError = max(timestepError, abs(ours - Float(theirs))) }
        position += 1
        return recorded.callOutputs[k]
    }

    /// Every recorded call was made.
    func finish() throws {
        guard position == recorded.callInputs.count else {
            throw DiffusionError("\(source): the replayed loop made \(position) network calls, the reference \(recorded.callInputs.count)")
        }
    }
}
