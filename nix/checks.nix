# `nix flake check`: the same oracle, tests and linters that `make test` runs, each in
# its own derivation so a failure names what failed. The command lines and the tools
# each check calls are in nix/commands.toml, which `cargo xtask twin` reads too and runs
# offline, on the same file set with the same tools; what each check adds to its command
# (file set, environment) is here.
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
  nara-static,
  oci,
  module-eval,
  vm-test,
  buildPackages,
}: let
  commands = lib.importTOML ./commands.toml;
  tools = import ./tools.nix {inherit lib stdenv buildPackages;};
  # One check's lists of words from the table, joined as crane joins them, under the
  # argument names crane takes (cargoExtraArgs, cargoClippyExtraArgs, ...).
  craneArgsOf = name: lib.mapAttrs (_: lib.concatStringsSep " ") (removeAttrs commands.${name} ["env"]);
  # A check's command lines from the table as a derivation's script, one a line.
  scriptOf = name: lib.concatMapStringsSep "\n" (lib.concatStringsSep " ") commands.${name}.commands;
in
  {
    inherit nara nara-web;

    # The dev profile, as `make lint` runs clippy (nix/crate-args.nix). Nothing reads
    # this check's target/, so it is not installed (crane installs it by default) and no
    # binary cache receives it.
    clippy = craneLib.cargoClippy (crateArgs.checks
      // craneArgsOf "clippy"
      // {doInstallCargoArtifacts = false;});

    fmt = craneLib.cargoFmt ({src = sources.rust;} // craneArgsOf "fmt");

    # The API docs build without a warning: no broken link, no undocumented public item.
    doc = craneLib.cargoDoc (crateArgs.checks
      // craneArgsOf "doc"
      // {env = crateArgs.checks.env // commands.doc.env;});

    # The integration tests read the book chapters and modules they hold the code
    # against (sources.tests), start real servers and a mosquitto broker on loopback, and
    # call the tools nix/commands.toml names for them. The dependency layer is the
    # checks' own, built from the crate's source alone.
    nextest = craneLib.cargoNextest (crateArgs.checks
      // craneArgsOf "nextest"
      // {
        src = sources.tests;
        # As for clippy: a target/ that nothing reads stays out of the store and the cache.
        doInstallCargoArtifacts = false;
        nativeBuildInputs = tools.of "nextest";
        __darwinAllowLocalNetworking = true;
      });

    # Reads .cargo/audit.toml: the advisories ignored there say why.
    audit = craneLib.cargoAudit ({
        src = sources.audit;
        inherit advisory-db;
      }
      // craneArgsOf "audit");

    # The page's pure logic (web/test/) under node's test runner, in the web-unit set.
    web-unit = runCommand "nara-web-unit" {nativeBuildInputs = tools.of "web-unit";} ''
      cd ${sources.web-unit}
      ${scriptOf "web-unit"}
      touch "$out"
    '';

    # The shipped alert rules: promtool checks them and fires and clears each alert in
    # their unit tests, in the alert-rules set.
    alert-rules = runCommand "nara-alert-rules" {nativeBuildInputs = tools.of "alert-rules";} ''
      cd ${sources.alert-rules}
      ${scriptOf "alert-rules"}
      touch "$out"
    '';

    # The test oracle, unchanged, against the built package.
    oracle =
      runCommand "nara-oracle" {
        nativeBuildInputs = tools.of "oracle";
        __darwinAllowLocalNetworking = true;
      } ''
        sh ${../checks/oracle.sh} ${lib.getExe nara}
        touch "$out"
      '';

    nix-lint = runCommand "nara-nix-lint" {nativeBuildInputs = tools.of "nix-lint";} ''
      cd ${sources.nix}
      ${scriptOf "nix-lint"}
      touch "$out"
    '';
  }
  // lib.optionalAttrs stdenv.hostPlatform.isLinux {
    # services.nara evaluated in a real NixOS system, and run in VMs against the oracle.
    inherit module-eval vm-test nara-static;

    # The oracle against the static nara, which must also resolve a broker's host name
    # by itself (glibc's static libc, no NSS modules to load): mosquitto on a free port
    # of the build's loopback (the machine's, where the sandbox is off), reached as
    # localhost.
    oracle-static =
      runCommand "nara-oracle-static" {
        nativeBuildInputs = tools.of "oracle-static";
      } ''
        file -L ${lib.getExe nara-static} > described
        cat described
        grep -Eq 'static(-pie|ally) linked' described
        ORACLE_MQTT_PORT=free sh ${../checks/oracle.sh} ${lib.getExe nara-static}
        touch "$out"
      '';

    # The image's config: user, entrypoint, ports, labels, healthcheck.
    oci-config = runCommand "nara-oci-config" {nativeBuildInputs = tools.of "oci-config";} ''
      sh ${../checks/oci-config.sh} ${oci}
      touch "$out"
    '';
  }
