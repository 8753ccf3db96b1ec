# What every crane derivation of the crate shares: the filtered source, a dependency
# layer, and the environment build.rs reads (the bundle to embed, the git revision).
#
# Two profiles, each with its own dependency layer: `release` (fat LTO, one codegen
# unit) for the package that ships, and `dev` for the checks, as `make lint` and
# `make test` build, so clippy sees what a developer sees and no test binary is
# fat-linked. The dependency layers see neither the bundle nor the revision, so
# neither invalidates them.
{
  craneLib,
  sources,
  nara-web,
  revision,
}: let
  forProfile = profile: let
    dependencies = {
      src = sources.rust;
      strictDeps = true;
      CARGO_PROFILE = profile;
    };
  in
    dependencies
    // {
      # Only the checks build tests (the package has doCheck = false), so only their
      # layer compiles the test-only dependencies.
      cargoArtifacts = craneLib.buildDepsOnly (dependencies // {doCheck = profile != "release";});
      env = {
        NARA_WEB_DIST = "${nara-web}";
        NARA_GIT_REVISION = revision;
      };
    };
in {
  release = forProfile "release";
  checks = forProfile "dev";
}
