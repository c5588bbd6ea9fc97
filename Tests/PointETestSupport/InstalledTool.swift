import Foundation

/// Programs that scripts/install-deps.sh installs. A test that needs one finds it here and
/// fails (it does not skip) when it is missing, naming the Debian package: the suite's setup
/// step was skipped or is incomplete, and a silent skip would hide that.
public enum InstalledTool {
    public static let directories = ["/usr/bin", "/usr/sbin", "/bin", "/sbin"]

    /// The absolute path of `name`, or an error naming `package`.
    public static func path(_ name: String, package: String) throws -> String {
        let candidates = directories.map { $0 + "/" + name }
        guard let found = Subprocess.find(candidates) else {
            throw SubprocessError("\(name) is not installed (looked in \(directories.joined(separator: ", "))): "
                + "run scripts/install-deps.sh, which installs the Debian package \(package)")
        }
        return found
    }
}
