/// An error from configuring or running diffusion sampling; the message names the input at fault
/// (a config key, a fixture file, a stage).
public struct DiffusionError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
