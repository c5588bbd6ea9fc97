import XCTest

extension PythonTestVenv {
    /// `make`, with PyPI out of reach turned into a skip of the calling test (its tools cannot
    /// be had here; any other failure stays a failure).
    public static func makeOrSkip(_ name: String, requirements: String) throws -> PythonTestVenv {
        do { return try make(name, requirements: requirements) } catch let error as Unreachable { throw XCTSkip("\(error)") }
    }
}
