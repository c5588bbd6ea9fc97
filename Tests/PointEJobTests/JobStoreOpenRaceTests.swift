import Foundation
import GRDB
@testable import PointEJob
import PointETensor
import PointETestSupport
import XCTest

/// Several processes may open a job store that does not exist yet at the same moment: a
/// coordinator creating it while `pointe status` (or a test) reads it. Each must come out with
/// the whole schema. Threads stand in for processes here: every thread has its own SQLite
/// connection, and SQLite locks connections of one process against each other as it does
/// those of different processes.
final class JobStoreOpenRaceTests: XCTestCase {
    func testStoresOpenedTogetherAllMigrateFully() throws {
        let openers = 4
        for round in 0..<40 {
            let path = try Fixtures.temporaryDirectory().path + "/job.sqlite"
            let start = DispatchSemaphore(value: 0)
            let group = DispatchGroup()
            let errors = Locked<[String]>([])
            for _ in 0..<openers {
                group.enter()
                Thread.detachNewThread {
                    start.wait()
                    do { _ = try JobStore(path: path).counts() } catch { errors.withLock { $0.append("\(error)") } }
                    group.leave()
                }
            }
            for _ in 0..<openers { start.signal() }
            XCTAssertEqual(group.wait(timeout: .now() + 60), .success, "round \(round): an opener hung")
            let failures = errors.withLock { $0 }
            XCTAssertEqual(failures, [], "round \(round)")
            let complete = try DatabaseQueue(path: path).read { try JobStore.migrator.hasCompletedMigrations($0) }
            XCTAssertTrue(complete, "round \(round): \(path) is missing migrations")
            if !failures.isEmpty { break }
        }
    }
}
