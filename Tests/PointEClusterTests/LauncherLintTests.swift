import Foundation
import PointETestSupport
import XCTest

/// The launchers checked by the tools their users' platforms use: kubernetes-validate (the
/// Kubernetes JSON schemas, strict) on every manifest, `systemd-analyze verify` on the units and
/// shellcheck on every shell script. Each test first shows its tool refusing a broken copy, so
/// a pass cannot come from a tool that checks nothing.
final class LauncherLintTests: XCTestCase {
    static let root = Fixtures.repositoryRoot
    /// The newest Kubernetes release kubernetes-validate 1.37.0 has schemas for.
    static let kubernetesVersion = "1.37.0"

    func testKubernetesManifestsValidateAgainstTheKubernetesSchemas() throws {
        let venv = try PythonTestVenv.makeOrSkip("kubernetes", requirements: Fixtures.scripts + "/requirements-kubernetes.txt")
        let validate = venv.bin("kubernetes-validate")
        let directory = Self.root + "/cluster/kubernetes"
        let files = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".yaml") }.sorted()
        // kustomization.yaml configures kustomize (no Kubernetes resource, so no schema);
        // LauncherTests checks that the resources it lists exist.
        let manifests = files.filter { $0 != "kustomization.yaml" }.map { directory + "/" + $0 }
        XCTAssertEqual(manifests.count, 4, "cluster/kubernetes: \(files)")

        let dir = try Fixtures.temporaryDirectory().path
        let broken = dir + "/workers-misspelled.yaml"
        let workers = try String(contentsOfFile: directory + "/workers.yaml", encoding: .utf8)
        XCTAssertTrue(workers.contains("  replicas: "), "workers.yaml has no spec.replicas to misspell")
        try workers.replacingOccurrences(of: "  replicas: ", with: "  replica: ").write(toFile: broken, atomically: true, encoding: .utf8)
        let refused = try Subprocess.run(validate, ["-k", Self.kubernetesVersion, "--strict", broken], timeout: 120)
        XCTAssertNotEqual(refused.status, 0, "kubernetes-validate accepted spec.replica: \(refused.output)")
        XCTAssertTrue(refused.output.contains("'replica' was unexpected"), refused.output)

        // A kind without a schema is only a warning to kubernetes-validate: count what passed
        // against the documents the files hold, and take no warning.
        let count = try Subprocess.run(venv.python, ["-c", "import sys, yaml; print(sum(1 for p in sys.argv[1:] for d in yaml.safe_load_all(open(p)) if d))"] + manifests, timeout: 60)
        XCTAssertEqual(count.status, 0, count.output)
        let documents = try XCTUnwrap(Int(count.output.trimmingCharacters(in: .whitespacesAndNewlines)), count.output)
        let (status, output) = try Subprocess.run(validate, ["-k", Self.kubernetesVersion, "--strict"] + manifests, timeout: 300)
        XCTAssertEqual(status, 0, output)
        let passed = output.split(separator: "\n").filter { $0.hasPrefix("INFO ") && $0.contains(" passed for resource ") }
        XCTAssertEqual(passed.count, documents, output)
        XCTAssertFalse(output.contains("WARN") || output.contains("ERROR"), output)
        print("kubernetes-validate \(Self.kubernetesVersion) --strict: \(passed.count) of \(documents) resources in \(manifests.count) files valid; "
              + "a misspelled field refused (status \(refused.status))")
    }

    func testSystemdUnitsPassSystemdAnalyzeVerify() throws {
        let analyze = try InstalledTool.path("systemd-analyze", package: "systemd")
        // A root with the system's unit library (targets the units order against), the units as
        // installed (README: /etc/systemd/system), their environment file and an executable
        // /usr/local/bin/pointe (the built one): verify checks that ExecStart can run.
        let root = try Fixtures.temporaryDirectory().path
        let fm = FileManager.default
        for sub in ["usr/lib/systemd", "etc/systemd/system", "etc/pointe", "usr/local/bin"] {
            try fm.createDirectory(atPath: root + "/" + sub, withIntermediateDirectories: true)
        }
        let library = "/usr/lib/systemd/system"
        guard fm.fileExists(atPath: library + "/sysinit.target") else {
            throw SubprocessError("\(library)/sysinit.target is missing: run scripts/install-deps.sh (Debian package systemd)")
        }
        try fm.copyItem(atPath: library, toPath: root + library)
        try "#!/bin/sh\nexec '\(try BuiltTool.pointe())' \"$@\"\n".write(toFile: root + "/usr/local/bin/pointe", atomically: true, encoding: .utf8)
        chmod(root + "/usr/local/bin/pointe", 0o755)
        let directory = Self.root + "/cluster/systemd"
        try fm.copyItem(atPath: directory + "/pointe.env", toPath: root + "/etc/pointe/pointe.env")
        let units = try fm.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".service") }.sorted()
        XCTAssertEqual(units.count, 3, "cluster/systemd: \(units)")
        for unit in units { try fm.copyItem(atPath: directory + "/" + unit, toPath: root + "/etc/systemd/system/" + unit) }
        // Templates are verified as an instance of each.
        let names = units.map { $0.replacingOccurrences(of: "@.service", with: "@1.service") }

        // Unknown keys are only warnings (exit 0): a unit passes only with no output at all.
        let coordinator = try String(contentsOfFile: directory + "/pointe-coordinator.service", encoding: .utf8)
        try coordinator.replacingOccurrences(of: "KillSignal=", with: "KilSignal=")
            .write(toFile: root + "/etc/systemd/system/pointe-misspelled.service", atomically: true, encoding: .utf8)
        let refused = try Subprocess.run(analyze, ["verify", "--root=\(root)", "pointe-misspelled.service"], timeout: 120)
        XCTAssertTrue(refused.output.contains("Unknown key 'KilSignal'"), "systemd-analyze took KilSignal= (status \(refused.status)): \(refused.output)")

        let (status, output) = try Subprocess.run(analyze, ["verify", "--root=\(root)"] + names, timeout: 120)
        XCTAssertEqual(status, 0, output)
        XCTAssertEqual(output.trimmingCharacters(in: .whitespacesAndNewlines), "", "systemd-analyze verify \(names): \(output)")
        print("systemd-analyze verify: \(names.count) units clean (\(names.joined(separator: ", "))); a misspelled key reported")
    }

    /// Every shell script of the repository's launchers and scripts, found by its #! line.
    static func shellScripts() throws -> [String] {
        var scripts: [String] = []
        for top in ["cluster", "scripts", ".ci"] {
            guard let walker = FileManager.default.enumerator(atPath: root + "/" + top) else { continue }
            for case let relative as String in walker {
                let path = root + "/" + top + "/" + relative
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
                      let handle = FileHandle(forReadingAtPath: path) else { continue }
                let head = String(decoding: handle.readData(ofLength: 64), as: UTF8.self)
                try handle.close()
                let shebang = head.split(separator: "\n").first ?? ""
                if shebang.hasPrefix("#!") && (shebang.hasSuffix("sh") || shebang.hasSuffix("bash")) { scripts.append(path) }
            }
        }
        return scripts.sorted()
    }

    func testShellScriptsPassShellcheck() throws {
        let shellcheck = try InstalledTool.path("shellcheck", package: "shellcheck")
        let scripts = try Self.shellScripts()
        XCTAssertTrue(scripts.contains(Self.root + "/cluster/slurm/pointe.sbatch"), "\(scripts)")
        XCTAssertTrue(scripts.contains(Self.root + "/scripts/install-deps.sh"), "\(scripts)")

        let broken = try Fixtures.temporaryDirectory().path + "/unquoted.sbatch"
        try (String(contentsOfFile: Self.root + "/cluster/slurm/pointe.sbatch", encoding: .utf8) + "\nls $JOB_DIR\n")
            .write(toFile: broken, atomically: true, encoding: .utf8)
        let refused = try Subprocess.run(shellcheck, [broken], timeout: 120)
        XCTAssertNotEqual(refused.status, 0, "shellcheck took an unquoted expansion: \(refused.output)")
        XCTAssertTrue(refused.output.contains("SC2086"), refused.output)

        let (status, output) = try Subprocess.run(shellcheck, ["--external-sources"] + scripts, timeout: 300)
        XCTAssertEqual(status, 0, output)
        print("shellcheck: \(scripts.count) shell scripts clean; an unquoted expansion refused (status \(refused.status))")
    }
}
