import Foundation
import PointEDiffusion
import PointEEngine
@testable import PointEJob
@testable import PointEWire
import XCTest

/// `pointe run --sampler KIND` reaches the worker's sampler as KIND: a job's prompt settings go
/// through the job store (JSON) and the wire (ShardAssignment / PromptItem) before the worker
/// builds its sampler from them, which EngineSamplerReplayTests replays against the reference
/// for every kind.
final class SamplerKindTransportTests: XCTestCase {
    func testEveryKindSurvivesTheStoreAndTheWire() throws {
        for kind in SamplerKind.allCases {
            let settings = PromptDefaults(model: .base40M, upsample: true, steps: 7, guidance: 2.5, sampler: kind).settings(for: .image)
            let stored = String(decoding: try JSONEncoder().encode(settings), as: UTF8.self)
            let fromStore = try XCTUnwrap(StoredSamplingSettings.decode(stored), "\(kind): \(stored)")
            XCTAssertEqual(fromStore, settings, "\(kind) through the store")
            let onWorker = try SamplingSettings(wire: Pointe_Cluster_SamplerSettings(serializedBytes: try fromStore.wire.serializedData()))
            XCTAssertEqual(onWorker, settings, "\(kind) through the wire")
            XCTAssertEqual(onWorker.sampler, kind)
        }
    }

    /// A sampler the worker does not know is refused by name, never sampled as another kind.
    func testUnknownSamplerOnTheWireIsRefusedByName() throws {
        var wire = SamplingSettings(sampler: .dpm).wire
        wire.sampler = "dpm++"
        XCTAssertThrowsError(try SamplingSettings(wire: wire)) { XCTAssertTrue("\($0)".contains("dpm++"), "\($0)") }
    }
}
