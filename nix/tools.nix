# The tools of nix/commands.toml as packages: for a check (nix/checks.nix) and for
# `nix develop` (nix/devshell.nix). They run while a check builds or in the shell, so
# they come from the build machine's packages, and only on the platforms that have them.
{
  lib,
  stdenv,
  buildPackages,
}: let
  here = lib.filter (tool: tool ? nixpkgs && (stdenv.hostPlatform.isLinux || !(tool.linux or false))) (
    lib.attrValues (lib.importTOML ./commands.toml).tools
  );
  package = tool: lib.getAttrFromPath (lib.splitString "." tool.nixpkgs) buildPackages;
in {
  # Every tool Nix has: the dev shell's.
  all = map package here;
  # What a check's derivation lists itself: crane's builders add their own tool.
  of = check: map package (lib.filter (tool: lib.elem check (tool.checks or []) && !(tool.crane or false)) here);
}
