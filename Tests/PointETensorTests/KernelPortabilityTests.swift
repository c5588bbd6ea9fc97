import Foundation
import PointETestSupport
import XCTest

/// The C kernels must build on every platform pointe is used on, not only the x86-64 machine
/// running the tests: compile each source for aarch64 (the portable variant alone) and for
/// x86-64, warnings as errors, with the flags Package.swift gives the target.
final class KernelPortabilityTests: XCTestCase {
    static let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../Sources/CKernels").standardizedFileURL

    func clang() throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin"
        let candidates = path.split(separator: ":").map { "\($0)/clang" } + ["/opt/swift/usr/bin/clang", "/usr/bin/clang"]
        guard let found = Subprocess.find(candidates) else { throw XCTSkip("no clang found on PATH or in /opt/swift") }
        return found
    }

    func kernelSources() throws -> [String] {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.sources.path).filter { $0.hasSuffix(".c") }.sorted()
        XCTAssertTrue(files.contains("kernels_baseline.c") && files.contains("dispatch.c"), "\(files)")
        return files.map { Self.sources.appendingPathComponent($0).path }
    }

    func compile(target: String, extra: [String]) throws {
        let clang = try clang()
        let out = NSTemporaryDirectory() + "pointe-kernels-\(getpid()).o"
        defer { try? FileManager.default.removeItem(atPath: out) }
        for source in try kernelSources() {
            let args = ["--target=\(target)"] + extra + ["-O3", "-ffp-contract=off", "-Wall", "-Wextra", "-Werror",
                        "-I", Self.sources.appendingPathComponent("include").path, "-c", source, "-o", out]
            let result = try Subprocess.run(clang, args, timeout: 120)
            XCTAssertEqual(result.status, 0, "\(target): clang \(args.joined(separator: " "))\n\(result.output)")
        }
    }

    func testKernelsCompileForAArch64() throws {
        // Debian's libc6-dev-arm64-cross (installed by scripts/install-deps.sh) gives the headers.
        let headers = "/usr/aarch64-linux-gnu/include"
        guard FileManager.default.fileExists(atPath: headers + "/stdint.h") else {
            throw XCTSkip("no aarch64 headers at \(headers): install libc6-dev-arm64-cross (scripts/install-deps.sh)")
        }
        try compile(target: "aarch64-linux-gnu", extra: ["-isystem", headers])
    }

    func testKernelsCompileForX86_64WithoutWarnings() throws {
        try compile(target: "x86_64-linux-gnu", extra: [])
    }
}
