/// An error of the engine layer; the message names the file, address, model or prompt at fault.
public struct EngineError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
