import Foundation

/// A Python virtual environment with the pinned PyPI packages of one requirements file
/// (Tests/Scripts/requirements-*.txt), for tests that check pointe's files and launchers with
/// the tools users run. It is made once under .build/test-venvs/NAME (ignored by git) and reused
/// while the requirements file is unchanged: a stamp file inside holds the text it was made from.
public struct PythonTestVenv: Sendable {
    public let path: String
    public var python: String { path + "/bin/python" }
    public func bin(_ name: String) -> String { path + "/bin/" + name }

    /// PyPI could not be reached: the test cannot get its tools here (a skip, not a failure).
    public struct Unreachable: Error, CustomStringConvertible {
        public let description: String
    }

    /// Signs in pip's output that the index was not reached (as opposed to a package problem).
    static let networkFailures = ["NewConnectionError", "Failed to establish a new connection", "Temporary failure in name resolution",
                                  "Network is unreachable", "ConnectTimeoutError", "ReadTimeoutError", "No route to host"]

    /// The venv for `requirements` (a file under Tests/Scripts), created or refreshed when
    /// needed. Throws `Unreachable` when pip cannot reach PyPI, and an error with pip's
    /// output for anything else.
    public static func make(_ name: String, requirements: String) throws -> PythonTestVenv {
        let python3 = try InstalledTool.path("python3", package: "python3-venv")
        let wanted = try String(contentsOfFile: requirements, encoding: .utf8)
        let venv = PythonTestVenv(path: Fixtures.repositoryRoot + "/.build/test-venvs/" + name)
        let stamp = venv.path + "/requirements.stamp"
        if (try? String(contentsOfFile: stamp, encoding: .utf8)) == wanted, FileManager.default.isExecutableFile(atPath: venv.python) {
            return venv
        }
        try? FileManager.default.removeItem(atPath: venv.path)
        let created = try Subprocess.run(python3, ["-m", "venv", venv.path], timeout: 300)
        guard created.status == 0 else {
            throw SubprocessError("python3 -m venv \(venv.path) failed (Debian package python3-venv): \(created.output)")
        }
        let installed = try Subprocess.run(venv.bin("pip"), ["install", "--disable-pip-version-check", "--no-input", "--retries", "2",
                                                             "--timeout", "60", "-r", requirements], timeout: 1800)
        guard installed.status == 0 else {
            try? FileManager.default.removeItem(atPath: venv.path)
            if networkFailures.contains(where: installed.output.contains) {
                throw Unreachable(description: "PyPI is not reachable to install \(requirements): \(installed.output.suffix(400))")
            }
            throw SubprocessError("pip install -r \(requirements) failed:\n\(installed.output.suffix(4000))")
        }
        try wanted.write(toFile: stamp, atomically: true, encoding: .utf8)
        return venv
    }
}
