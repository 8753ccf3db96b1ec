# `nix develop`: the pinned toolchain plus every tool of nix/commands.toml that Nix has
# (nix/tools.nix): what `make test`, `make bench` and the deploy docs call. Only the
# checks a developer builds against lend their inputs (clippy's and the tests'); the
# NixOS evaluation and VM test would make entering the shell evaluate two NixOS systems.
{
  lib,
  stdenv,
  buildPackages,
  craneLib,
  checks,
}:
craneLib.devShell {
  checks = {inherit (checks) clippy nextest;};
  packages = (import ./tools.nix {inherit lib stdenv buildPackages;}).all;
}
