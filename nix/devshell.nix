# `nix develop`: the pinned toolchain plus everything `make test`, `make bench` and
# the deploy docs use. Only the checks a developer builds against lend their inputs
# (clippy's toolchain, the tests' curl, jq, openssl, mosquitto, promtool); the NixOS
# evaluation and VM test would make entering the shell evaluate two NixOS systems.
{
  lib,
  stdenv,
  craneLib,
  checks,
  nodejs,
  mdbook,
  shellcheck,
  cargo-nextest,
  cargo-audit,
  alejandra,
  statix,
  deadnix,
  nixpacks,
  flyctl,
  wrk,
}:
craneLib.devShell {
  checks = {inherit (checks) clippy nextest;};
  packages =
    [nodejs mdbook shellcheck cargo-nextest cargo-audit alejandra statix deadnix nixpacks flyctl]
    ++ lib.optionals stdenv.hostPlatform.isLinux [wrk];
}
