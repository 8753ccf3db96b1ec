# What every crane derivation of the crate shares: the filtered source, a dependency
# layer, and the environment build.rs reads (the bundle to embed, the git revision).
#
# Three builds, each with its own dependency layer: `release` (fat LTO, one codegen
# unit) for the package that ships, `dev` for the checks, as `make lint` and
# `make test` build, so clippy sees what a developer sees and no test binary is
# fat-linked, and `static`: the release build linked statically against glibc. The
# dependency layers see neither the bundle nor the revision, so neither invalidates
# them.
{
  lib,
  stdenv,
  glibc,
  craneLib,
  sources,
  nara-web,
  revision,
}: let
  forProfile = profile: extra: let
    dependencies =
      {
        src = sources.rust;
        strictDeps = true;
        CARGO_PROFILE = profile;
      }
      // extra;
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

  # glibc's static libc with +crt-static: a static-pie. The target is named so that
  # the flag reaches nara and its dependencies only, not build scripts and proc
  # macros, which the compiler loads as shared objects. Set through the target's
  # RUSTFLAGS variable, it joins .cargo/config.toml's flags for the target rather
  # than replacing them (as RUSTFLAGS would). The same three settings are what
  # `cargo xtask twin nara-static` builds with.
  inherit (stdenv.hostPlatform.rust) rustcTarget cargoEnvVarTarget;
  staticGlibc = {
    CARGO_BUILD_TARGET = rustcTarget;
    "CARGO_TARGET_${cargoEnvVarTarget}_RUSTFLAGS" = "-C target-feature=+crt-static";
    buildInputs = [glibc.static];
  };
in
  {
    release = forProfile "release" {};
    checks = forProfile "dev" {};
  }
  // lib.optionalAttrs stdenv.hostPlatform.isLinux {
    static = forProfile "release" staticGlibc;
  }
