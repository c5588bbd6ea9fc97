import PointEEngine

/// What `pointe --version` prints: this build's release, and the engine and mesher versions
/// peers give in their hello (the coordinator logs both; results carry the engine's).
enum PointeVersion {
    static let release = "0.1.0"
    static var text: String { "pointe \(release) (\(PointEEngine.version), \(CloudMeshingEngine.version))" }
}
