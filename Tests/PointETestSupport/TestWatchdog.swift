import CTestWatchdog

/// The test-process watchdog (Tests/CTestWatchdog): a stuck test ends the run with status 124
/// and a message instead of hanging it. It starts when the test binary loads; `arm` is for
/// code paths that want to be sure.
public enum TestWatchdog {
    public static func arm() { pointe_test_watchdog_arm() }
}
