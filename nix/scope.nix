# Everything nara builds from one package set, each derivation in its own file, wired
# together with callPackage so each file names only what it uses.
#
# `pkgs` is whatever package set is given: the flake's pinned nixpkgs for its own
# outputs, the user's for `overlays.default`, and so also `pkgsStatic` or
# `pkgsCross.aarch64-multiplatform`. rust-overlay is applied to it (not to a nixpkgs of
# its own), and crane gets the toolchain rust-toolchain.toml pins for every platform of
# the build, with the standard library of the platform it builds for.
{
  pkgs,
  crane,
  rust-overlay,
  advisory-db,
  revision,
  nixosModule,
  nixosSystem,
}:
pkgs.lib.makeScope pkgs.newScope (self: {
  inherit pkgs advisory-db revision nixosModule nixosSystem;
  inherit (pkgs.stdenv.hostPlatform) system;

  # A function of the package set, so crane splices it in a cross build (the compiler
  # runs on the build machine and links for the host). rust-overlay's lib.mkRustBin
  # adds `rust-bin` to that set without importing nixpkgs again.
  craneLib = (crane.mkLib pkgs).overrideToolchain (p: (rust-overlay.lib.mkRustBin {} p).fromRustupToolchainFile ../rust-toolchain.toml);

  sources = self.callPackage ./sources.nix {};
  # The bundle is the same bytes on every platform: built by the build machine's
  # packages, so a cross or static nara reuses the native bundle.
  nara-web = pkgs.buildPackages.callPackage ./web.nix {inherit (self) sources;};
  crateArgs = self.callPackage ./crate-args.nix {};
  nara = self.callPackage ./nara.nix {};
  nara-static = self.callPackage ./nara-static.nix {};
  oci = self.callPackage ./oci.nix {};
  module-eval = self.callPackage ./module-eval.nix {};
  vm-test = self.callPackage ./vm-test.nix {};
  checks = self.callPackage ./checks.nix {};
  devShell = self.callPackage ./devshell.nix {};
})
