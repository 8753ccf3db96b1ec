# `nix develop`: the pinned toolchain plus everything `make test`, `make bench` and
# the deploy docs use.
{
  lib,
  stdenv,
  craneLib,
  checks,
  nodejs,
  mdbook,
  mosquitto,
  prometheus,
  curl,
  shellcheck,
  cargo-nextest,
  alejandra,
  statix,
  deadnix,
  nixpacks,
  flyctl,
  wrk,
}:
craneLib.devShell {
  inherit checks;
  packages =
    [nodejs mdbook mosquitto prometheus.cli curl shellcheck cargo-nextest alejandra statix deadnix nixpacks flyctl]
    ++ lib.optionals stdenv.hostPlatform.isLinux [wrk];
}
