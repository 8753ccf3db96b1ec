# The source trees, filtered so that each derivation sees only what it reads: a change
# to the web UI or the book does not rebuild the Rust crate, and a Rust change does not
# rebuild the web bundle. `cargo xtask nix-eval` checks these sets with nixpkgs' lib.
{
  lib,
  craneLib,
}: let
  root = ../.;
  inherit (lib.fileset) difference fileFilter toSource unions;
  filesets = {
    # Cargo files, Rust and TOML sources, and the oracle the integration tests run.
    # Without web/bundle-inputs.txt, build.rs trusts the bundle it is given
    # (NARA_WEB_DIST): in Nix that bundle is built from the same commit.
    rust = unions [
      (difference (craneLib.fileset.commonCargoSources root) (unions [../docs ../xtask ../fuzz]))
      ../checks/oracle.sh
      ../checks/oci-config.sh
    ];

    # What web/build.mjs reads: the SPA sources, its npm lock, and the book.
    web = unions [
      ../web/package.json
      ../web/package-lock.json
      ../web/build.mjs
      ../web/sources-hash.mjs
      ../web/bundle-inputs.txt
      ../web/index.html
      ../web/src
      ../web/public
      ../docs/book.toml
      ../docs/src
    ];

    # Every Nix file, for the linters.
    nix = fileFilter (file: file.hasExt "nix") root;
  };
in {
  inherit filesets;
  rust = toSource {
    inherit root;
    fileset = filesets.rust;
  };
  web = toSource {
    inherit root;
    fileset = filesets.web;
  };
  nix = toSource {
    inherit root;
    fileset = filesets.nix;
  };
}
