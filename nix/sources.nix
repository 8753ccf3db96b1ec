# The source trees, filtered so that each derivation sees only what it reads: a change
# to the web UI or the book does not rebuild the Rust crate, and a Rust change does not
# rebuild the web bundle. The sets themselves are declared in nix/filesets.nix, which
# `cargo xtask twin` reads too; `cargo xtask nix-eval` holds the two readings together.
{
  lib,
  craneLib,
}: let
  root = ../.;
  declared = import ./filesets.nix;
  inherit (lib.fileset) difference fileFilter toSource unions;
  at = relative: root + "/${relative}";
  filesetOf = set:
    difference
    (unions (
      lib.optional (set.cargoSources or false) (craneLib.fileset.commonCargoSources root)
      ++ map (extension: fileFilter (file: file.hasExt extension) root) (set.extensions or [])
      ++ map at (set.include or [])
      ++ map (name: filesetOf declared.${name}) (set.extends or [])
    ))
    (unions (map at (set.exclude or [])));
  filesets = lib.mapAttrs (_: filesetOf) declared;
in
  {inherit filesets;}
  // lib.mapAttrs (_: fileset: toSource {inherit root fileset;}) filesets
