# A pure evaluation of services.nara inside a real NixOS system: each sample
# configuration must make the units its expectations describe (the same pairs
# `make test` evaluates with nixpkgs' lib alone): this module's own sample, and one
# written for the Go nara's module.
{
  lib,
  runCommand,
  nixosSystem,
  nixosModule,
  system,
}: let
  failuresOf = sample: expectations: let
    evaluated = nixosSystem {
      modules = [
        nixosModule
        sample
        {
          nixpkgs.hostPlatform = system;
          boot.isContainer = true;
          system.stateVersion = "26.05";
        }
      ];
    };
    failedAssertions = map (a: a.message) (lib.filter (a: !a.assertion) evaluated.config.assertions);
  in
    map (failure: "${baseNameOf sample}: ${failure}") (failedAssertions
      ++ import expectations {
        inherit lib;
        inherit (evaluated) config;
      });
  failures =
    failuresOf ../checks/nixos-sample.nix ../checks/nixos-module.nix
    ++ failuresOf ../checks/nixos-go-sample.nix ../checks/nixos-go-module.nix;
in
  if failures == []
  then runCommand "nara-module-eval" {} "touch $out"
  else throw "services.nara:\n  ${lib.concatStringsSep "\n  " failures}"
