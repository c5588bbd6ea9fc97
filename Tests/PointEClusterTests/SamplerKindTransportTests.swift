import Foundation
import PointEDiffusion
import PointEEngine
@testable import PointEJob
@testable import PointEWire
import XCTest

/// `pointe run --sampler KIND --upsample-steps N` reaches the worker's sampler as KIND with an
/// N-step upsampler: a job's prompt settings go through the job store (JSON) and the wire
/// (ShardAssignment / PromptItem) before the worker builds its sampler from them, which
/// EngineSamplerReplayTests replays against the reference for every kind (and for upsamplers
/// with steps of their own).
final class SamplerKindTransportTests: XCTestCase {
    /// The job's settings as the store keeps them and the worker receives them.
    func onWorker(_ settings: SamplingSettings) throws -> SamplingSettings {
        let stored = String(decoding: try JSONEncoder().encode(settings), as: UTF8.self)
        let fromStore = try XCTUnwrap(StoredSamplingSettings.decode(stored), stored)
        XCTAssertEqual(fromStore, settings, "through the store: \(stored)")
        return try SamplingSettings(wire: Pointe_Cluster_SamplerSettings(serializedBytes: try fromStore.wire.serializedData()))
    }

    func testEveryKindSurvivesTheStoreAndTheWire() throws {
        for kind in SamplerKind.allCases {
            let settings = PromptDefaults(model: .base40M, upsample: true, steps: 7, guidance: 2.5, sampler: kind).settings(for: .image)
            let worker = try onWorker(settings)
            XCTAssertEqual(worker, settings, "\(kind) through the wire")
            XCTAssertEqual(worker.sampler, kind)
        }
    }

    /// The upsampler's own step count arrives as given, and its absence as absence (the
    /// upsampler then takes `steps`), whichever sampler walks the stages.
    func testUpsamplerStepsSurviveTheStoreAndTheWire() throws {
        for kind in SamplerKind.allCases {
            for upsampleSteps in [nil, 1, 5, SamplingSettings.stepCounts.upperBound] {
                let settings = PromptDefaults(model: .base40M, upsample: true, steps: 7, upsampleSteps: upsampleSteps, sampler: kind).settings(for: .image)
                XCTAssertEqual(settings.upsampleSteps, upsampleSteps)
                let worker = try onWorker(settings)
                XCTAssertEqual(worker, settings, "\(kind), upsampler steps \(upsampleSteps.map(String.init) ?? "nil")")
                XCTAssertEqual(worker.upsamplerStageSteps, upsampleSteps ?? 7)
            }
        }
        // Settings with no upsampler count (proto3 writes no field 6 for 0): the upsampler takes `steps`.
        var none = SamplingSettings(steps: 9, upsampleSteps: 4).wire
        none.upsampleSteps = 0
        let decoded = try SamplingSettings(wire: Pointe_Cluster_SamplerSettings(serializedBytes: try none.serializedData()))
        XCTAssertNil(decoded.upsampleSteps)
        XCTAssertEqual(decoded.upsamplerStageSteps, 9)
    }

    /// A sampler the worker does not know is refused by name, never sampled as another kind.
    func testUnknownSamplerOnTheWireIsRefusedByName() throws {
        var wire = SamplingSettings(sampler: .dpm).wire
        wire.sampler = "dpm++"
        XCTAssertThrowsError(try SamplingSettings(wire: wire)) { XCTAssertTrue("\($0)".contains("dpm++"), "\($0)") }
    }
}
