# A pure evaluation of services.nara inside a real NixOS system: each case of
# checks/nixos-cases.nix must make what its expectations describe (the same cases
# `make test` evaluates with nixpkgs' lib alone).
{
  lib,
  runCommandLocal,
  nixosSystem,
  nixosModule,
  system,
}: let
  cases = import ../checks/nixos-cases.nix {inherit lib;};
  failuresOf = name: case: let
    evaluated = nixosSystem {
      modules = [
        nixosModule
        case.configuration
        {
          # A case may build for another platform (a cross build).
          nixpkgs.hostPlatform = lib.mkDefault system;
          boot.isContainer = true;
          system.stateVersion = "26.05";
        }
      ];
    };
    failedAssertions = map (a: a.message) (lib.filter (a: !a.assertion) evaluated.config.assertions);
  in
    map (failure: "${name}: ${failure}") (lib.optionals (!(case.failingAssertions or false)) failedAssertions
      ++ case.expect {
        inherit lib failedAssertions;
        inherit (evaluated) config options;
      });
  failures = lib.concatLists (lib.mapAttrsToList failuresOf cases);
in
  if failures == []
  then runCommandLocal "nara-module-eval" {} "touch $out"
  else throw "services.nara:\n  ${lib.concatStringsSep "\n  " failures}"
