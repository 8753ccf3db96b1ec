{
  description = "nara: one binary serving its API, web UI and docs on one port";

  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixpkgs-unstable";
    crane.url = "github:ipetkov/crane";
    rust-overlay = {
      url = "github:oxalica/rust-overlay";
      inputs.nixpkgs.follows = "nixpkgs";
    };
    advisory-db = {
      url = "github:rustsec/advisory-db";
      flake = false;
    };
  };

  outputs = {
    self,
    nixpkgs,
    crane,
    rust-overlay,
    advisory-db,
  }: let
    inherit (nixpkgs) lib;
    systems = ["x86_64-linux" "aarch64-linux" "x86_64-darwin" "aarch64-darwin"];
    # The git revision as build.rs records it outside Nix: 12 characters, `-dirty` for
    # a modified tree.
    revision =
      if self ? rev
      then builtins.substring 0 12 self.rev
      else if self ? dirtyRev
      then "${builtins.substring 0 12 self.dirtyRev}-dirty"
      else "unknown";
    # Everything nara builds from a package set (nix/scope.nix wires the files below):
    # the pinned nixpkgs for this flake's outputs, the user's in the overlay.
    scopeOf = pkgs:
      import ./nix/scope.nix {
        inherit pkgs crane rust-overlay advisory-db revision;
        inherit (nixpkgs.lib) nixosSystem;
        nixosModule = self.nixosModules.default;
      };
    scopeFor = system: scopeOf nixpkgs.legacyPackages.${system};
    # A module with this flake's nara as the package default.
    withPackage = module: {
      lib,
      pkgs,
      ...
    }: {
      imports = [module];
      services.nara.package = lib.mkDefault self.packages.${pkgs.stdenv.hostPlatform.system}.nara;
    };
    forAllSystems = f: lib.genAttrs systems (system: f (scopeFor system));
  in {
    packages = forAllSystems (s:
      {
        default = s.nara;
        inherit (s) nara nara-web; # nix/nara.nix, nix/web.nix
      }
      // lib.optionalAttrs s.pkgs.stdenv.hostPlatform.isLinux {
        inherit (s) nara-static oci; # nix/nara-static.nix, nix/oci.nix
      });

    apps = forAllSystems (s: {
      default = {
        type = "app";
        program = lib.getExe s.nara;
        meta.description = "Run nara on :8080";
      };
    });

    checks = forAllSystems (s: s.checks); # nix/checks.nix

    devShells = forAllSystems (s: {default = s.devShell;}); # nix/devshell.nix

    formatter = forAllSystems (s: s.pkgs.alejandra);

    nixosModules = {
      default = self.nixosModules.nara;
      nara = withPackage ./modules/nixos.nix; # services.nara, with instances
    };

    homeModules = {
      default = self.homeModules.nara;
      nara = withPackage ./modules/home-manager.nix; # a user service: systemd or launchd
    };

    # nara built from the package set it is applied to: a user's nixpkgs, and so its
    # pkgsStatic and pkgsCross sets too.
    overlays.default = final: _prev: {
      inherit (scopeOf final) nara;
    };
  };
}
