//! What this binary is: version, git revision and build profile, fixed at compile time.

/// The crate version from `Cargo.toml`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The git revision the binary was built from (`NARA_GIT_REVISION`, else `git rev-parse`).
pub const REVISION: &str = env!("NARA_GIT_REVISION");
/// Cargo's profile: `release` or `debug`.
pub(crate) const PROFILE: &str = env!("NARA_BUILD_PROFILE");
/// What `nara --version` prints after the name.
pub(crate) const VERSION_LINE: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("NARA_GIT_REVISION"),
    ", ",
    env!("NARA_BUILD_PROFILE"),
    ")"
);
