# Everything nara builds for one system, each derivation in its own file, wired
# together with callPackage so each file names only what it uses.
{
  nixpkgs,
  crane,
  rust-overlay,
  advisory-db,
  system,
  revision,
  nixosModule,
}: let
  pkgs = import nixpkgs {
    inherit system;
    overlays = [rust-overlay.overlays.default];
  };
in
  pkgs.lib.makeScope pkgs.newScope (self: {
    inherit pkgs advisory-db revision system nixosModule;
    inherit (nixpkgs.lib) nixosSystem;

    # crane with the toolchain rust-toolchain.toml pins (through rust-overlay).
    craneLib = (crane.mkLib pkgs).overrideToolchain (p: p.rust-bin.fromRustupToolchainFile ../rust-toolchain.toml);

    sources = self.callPackage ./sources.nix {};
    nara-web = self.callPackage ./web.nix {};
    crateArgs = self.callPackage ./crate-args.nix {};
    nara = self.callPackage ./nara.nix {};
    oci = self.callPackage ./oci.nix {};
    module-eval = self.callPackage ./module-eval.nix {};
    vm-test = self.callPackage ./vm-test.nix {};
    checks = self.callPackage ./checks.nix {};
    devShell = self.callPackage ./devshell.nix {};
  })
