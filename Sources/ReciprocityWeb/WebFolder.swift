public import Foundation

/// The members' web app, the second client beside the Swift one: the flat folder `web/` of this target (HTML,
/// CSS, ES modules; no build step), which the server serves as `/web/NAME` and whose files the CLI's
/// `audit --web` carries the hashes of (the WebAssetHashes plugin reads this same folder).
public enum WebFolder {
    /// The folder in this build's resource bundle, `Reciprocity_ReciprocityWeb.resources`: beside the executable (the
    /// Dockerfile copies it there) or else in the build folder; nil if the bundle has no `web/`.
    public static var url: URL? { Bundle.module.url(forResource: "web", withExtension: nil) }
}
