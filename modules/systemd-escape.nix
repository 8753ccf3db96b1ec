# systemd's quoting of an ExecStart command line: nixpkgs' `utils.escapeSystemdExecArgs`
# rule (nixos/lib/utils.nix), for Home Manager, which has no `utils`. Each argument is
# JSON-quoted and `%` and `$` are doubled, so systemd expands no specifier or variable
# and an argument reaches nara as written.
{lib}: let
  escapeArg = arg:
    if builtins.isString arg
    then lib.replaceStrings ["%" "$"] ["%%" "$$"] (builtins.toJSON arg)
    else throw "systemd-escape: only strings are escaped, got ${builtins.typeOf arg}";
in
  lib.concatMapStringsSep " " escapeArg
