import Foundation

/// Tests/Fixtures, found from this file's location so a fresh clone tests on its own.
enum Fixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures")

    /// Fixture path without extension.
    static func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
}
