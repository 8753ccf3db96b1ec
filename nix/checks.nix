# `nix flake check`: the same oracle, tests and linters that `make test` runs, each in
# its own derivation so a failure names what failed.
{
  lib,
  stdenv,
  runCommand,
  craneLib,
  crateArgs,
  sources,
  advisory-db,
  nara,
  nara-web,
  oci,
  module-eval,
  vm-test,
  curl,
  jq,
  gnutar,
  mosquitto,
  prometheus,
  systemd,
  alejandra,
  statix,
  deadnix,
}:
{
  inherit nara nara-web;

  clippy = craneLib.cargoClippy (crateArgs
    // {
      cargoClippyExtraArgs = "--all-targets -- --deny warnings";
    });

  fmt = craneLib.cargoFmt {src = sources.rust;};

  # The integration tests start real servers and a mosquitto broker on loopback and
  # call curl, jq, tar, promtool and (on Linux) systemd-socket-activate, as under
  # `make test`.
  nextest = craneLib.cargoNextest (crateArgs
    // {
      nativeBuildInputs = [curl jq gnutar mosquitto prometheus.cli] ++ lib.optionals stdenv.hostPlatform.isLinux [systemd];
      __darwinAllowLocalNetworking = true;
    });

  audit = craneLib.cargoAudit {
    src = sources.rust;
    inherit advisory-db;
  };

  # The test oracle, unchanged, against the built package.
  oracle =
    runCommand "nara-oracle" {
      nativeBuildInputs = [curl];
      __darwinAllowLocalNetworking = true;
    } ''
      sh ${../checks/oracle.sh} ${lib.getExe nara}
      touch "$out"
    '';

  nix-lint = runCommand "nara-nix-lint" {nativeBuildInputs = [alejandra statix deadnix];} ''
    cd ${sources.nix}
    alejandra --check .
    statix check .
    deadnix --fail .
    touch "$out"
  '';
}
// lib.optionalAttrs stdenv.hostPlatform.isLinux {
  # services.nara evaluated in a real NixOS system, and run in VMs against the oracle.
  inherit module-eval vm-test;

  # The image's config: user, entrypoint, ports, labels, healthcheck.
  oci-config = runCommand "nara-oci-config" {nativeBuildInputs = [jq gnutar];} ''
    sh ${../checks/oci-config.sh} ${oci}
    touch "$out"
  '';
}
