import Foundation
import PointECheckpoint
import PointEModels
import XCTest
@testable import PointEEngine

/// Downloads into the shared model cache against a local server that misbehaves on purpose.
final class ModelCacheTests: XCTestCase {
    var directory: String!
    let payload = Data((0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 9) })

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("pointe-cache-\(UUID().uuidString)").path
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: directory) }

    func file(_ server: LocalHTTPServer, sha256: String? = nil) -> ReleasedFile {
        ReleasedFile(name: "test-model", kind: .pointE(.base40MUncond), url: server.url("abc/model.pt"), sha256: sha256)
    }

    func leftovers() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".partial") }
    }

    func testCompleteDownloadIsVerifiedAndRenamedIntoPlace() throws {
        let server = try LocalHTTPServer(body: payload)
        defer { server.stop() }
        let cache = ModelCache(directory: directory)
        let path = try cache.fetch(file(server, sha256: SHA256.hexDigest(of: payload)))
        XCTAssertEqual(path, directory + "/test-model.pt")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), payload)
        XCTAssertEqual(leftovers(), [])
        // A second fetch is served from the cache without asking the server.
        _ = try cache.fetch(file(server))
        XCTAssertEqual(server.requests.count, 1)
    }

    func testDroppedConnectionsResumeWithRangeRequests() throws {
        let server = try LocalHTTPServer(body: payload, behaviour: .dropAfter(bytes: 70_000, times: 3))
        defer { server.stop() }
        let path = try ModelCache(directory: directory).fetch(file(server), downloader: HTTPDownloader(attempts: 6))
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), payload)
        let requests = server.requests
        XCTAssertEqual(requests.first, "")
        XCTAssertEqual(requests.dropFirst().first, "bytes=70000-", "\(requests)")
        XCTAssertEqual(requests.count, 4, "\(requests)")
    }

    func testPartialFileFromAnEarlierRunIsResumed() throws {
        let server = try LocalHTTPServer(body: payload)
        defer { server.stop() }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try payload.prefix(123_456).write(to: URL(fileURLWithPath: directory + "/test-model.pt.partial"))
        let path = try ModelCache(directory: directory).fetch(file(server))
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), payload)
        XCTAssertEqual(server.requests, ["bytes=123456-"])
    }

    func testServerIgnoringRangesRestartsFromZero() throws {
        let server = try LocalHTTPServer(body: payload, behaviour: .ignoreRanges)
        defer { server.stop() }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try Data(repeating: 0xFF, count: 5000).write(to: URL(fileURLWithPath: directory + "/test-model.pt.partial"))
        let path = try ModelCache(directory: directory).fetch(file(server))
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), payload)
    }

    func testWrongChecksumIsRejectedAndNothingIsKept() throws {
        let server = try LocalHTTPServer(body: payload)
        defer { server.stop() }
        let expected = String(repeating: "0", count: 64)
        XCTAssertThrowsError(try ModelCache(directory: directory).fetch(file(server, sha256: expected))) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains(server.url("abc/model.pt").absoluteString), message)
            XCTAssertTrue(message.contains(expected), message)
        }
        XCTAssertNil(ModelCache(directory: directory).cachedPath(for: file(server)))
        XCTAssertEqual(leftovers(), [])
    }

    func testHTTPErrorNamesTheAddress() throws {
        let server = try LocalHTTPServer(body: payload, behaviour: .notFound)
        defer { server.stop() }
        XCTAssertThrowsError(try ModelCache(directory: directory).fetch(file(server))) { error in
            XCTAssertTrue("\(error)".contains("HTTP 404"), "\(error)")
            XCTAssertTrue("\(error)".contains("/abc/model.pt"), "\(error)")
        }
    }

    func testConcurrentDownloadersFetchOnce() throws {
        let server = try LocalHTTPServer(body: payload)
        defer { server.stop() }
        let cache = ModelCache(directory: directory)
        let target = file(server)
        let results = Outcomes()
        DispatchQueue.concurrentPerform(iterations: 6) { _ in
            do { results.add(try cache.fetch(target)) } catch { results.add("error: \(error)") }
        }
        XCTAssertEqual(Set(results.all), [directory + "/test-model.pt"])
        XCTAssertEqual(server.requests.count, 1, "the file was fetched once: \(server.requests)")
    }

    func testOfflineMessageNamesAddressFileAndOption() {
        let clip = ReleasedFiles.named("ViT-L/14")!
        let message = ModelCache(directory: "/x/cache").missingMessage(for: clip)
        XCTAssertTrue(message.contains(clip.url.absoluteString))
        XCTAssertTrue(message.contains("/x/cache/ViT-L-14.pt"))
        XCTAssertTrue(message.contains("--models-dir"))
    }

    func testDefaultDirectoryFollowsTheEnvironment() {
        XCTAssertEqual(ModelCache.defaultDirectory(environment: ["POINTE_HOME": "/a", "XDG_CACHE_HOME": "/b"]), "/a")
        XCTAssertEqual(ModelCache.defaultDirectory(environment: ["XDG_CACHE_HOME": "/b", "HOME": "/h"]), "/b/pointe")
        XCTAssertEqual(ModelCache.defaultDirectory(environment: ["HOME": "/h"]), "/h/.cache/pointe")
    }

    func testCachedPointEFilesAreNamedAsModelsDirectoriesExpect() {
        XCTAssertEqual(ReleasedFiles.named("base40M-textvec")?.fileName, "base40M-textvec.pt")
        XCTAssertEqual(ReleasedFiles.named("upsample")?.fileName, "upsample.pt")
        XCTAssertEqual(ReleasedFiles.named("ViT-L/14")?.fileName, "ViT-L-14.pt")
    }

    func testRegistryHasEveryReleasedFileWithCLIPDigests() {
        XCTAssertEqual(ReleasedFiles.all.compactMap { if case .pointE(let model) = $0.kind { model } else { nil } }, ReleasedModel.allCases)
        for clip in ReleasedFiles.all where clip.kind == .clip {
            // CLIP's addresses embed the file's SHA-256 as their next-to-last path component.
            XCTAssertEqual(clip.sha256, clip.url.deletingLastPathComponent().lastPathComponent)
            XCTAssertEqual(clip.sha256?.count, 64)
        }
    }
}

/// Results collected from several threads.
private final class Outcomes: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [String] = []
    func add(_ value: String) { lock.lock(); values.append(value); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return values }
}
