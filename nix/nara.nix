# nara itself: crane builds the crate in the release profile against its dependency
# layer, embedding the separately built web bundle and the flake's git revision
# (nix/crate-args.nix).
{
  lib,
  craneLib,
  crateArgs,
  nara-web,
}:
craneLib.buildPackage (crateArgs.release
  // {
    # The tests run in their own check (nix/checks.nix) with the tools they need.
    doCheck = false;

    passthru = {inherit nara-web;};

    meta = {
      description = "One binary serving its API, web UI and docs on one port";
      license = lib.licenses.mit;
      mainProgram = "nara";
      platforms = lib.platforms.unix;
    };
  })
