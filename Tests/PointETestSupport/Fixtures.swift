import Foundation

/// Tests/Fixtures (copies of ../shared/parity and ../shared/data that tests need), found from
/// this file's location so a fresh clone tests on its own.
public enum Fixtures {
    public static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures")

    /// The repository's root (launchers in cluster/, scripts/, the test helpers in Tests/Scripts).
    public static let repositoryRoot = directory.deletingLastPathComponent().deletingLastPathComponent().path

    /// Tests/Scripts: the Python and shell helpers tests run (kept out of the targets' sources).
    public static let scripts = repositoryRoot + "/Tests/Scripts"

    /// Fixture path without extension, as `pointe parity` takes it.
    public static func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// A fresh, empty directory under the system's temporary directory.
    public static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("pointe-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
