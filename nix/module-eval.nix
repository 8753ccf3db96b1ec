# A pure evaluation of services.nara inside a real NixOS system: the sample
# configuration must make the units checks/nixos-module.nix expects (the same
# assertions `make test` runs with nixpkgs' lib alone).
{
  lib,
  runCommand,
  nixosSystem,
  nixosModule,
  system,
}: let
  evaluated = nixosSystem {
    modules = [
      nixosModule
      ../checks/nixos-sample.nix
      {
        nixpkgs.hostPlatform = system;
        boot.isContainer = true;
        system.stateVersion = "26.05";
      }
    ];
  };
  failures = import ../checks/nixos-module.nix {
    inherit lib;
    inherit (evaluated) config;
  };
in
  if failures == []
  then runCommand "nara-module-eval" {} "touch $out"
  else throw "services.nara:\n  ${lib.concatStringsSep "\n  " failures}"
