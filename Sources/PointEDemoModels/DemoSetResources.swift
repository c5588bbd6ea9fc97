import Foundation

/// Where the trained demo model set lies once built: the `DemoSet` folder of this target's
/// resource bundle (files made by scripts/train, see DemoSet/TRAINING.md). Data only; which
/// files are models and how they are installed is the engine's `DemoModelSet`.
public enum DemoSetResources {
    public static var directory: String { Bundle.module.bundleURL.appendingPathComponent("DemoSet").path }
}
