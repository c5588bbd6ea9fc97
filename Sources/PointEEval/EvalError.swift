/// An evaluation failure; the message names the file or input at fault.
public struct EvalError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
