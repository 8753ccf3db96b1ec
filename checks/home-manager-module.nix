# What the Home Manager module must make, on Linux (a systemd user unit) and on macOS
# (a launchd agent), and what it refuses (the build-time check forced on in a cross
# build): a list of failures, empty when all is well.
{
  lib,
  linux,
  darwin,
  cross,
}: let
  failed = config: map (a: a.message) (lib.filter (a: !a.assertion) config.assertions);
  expect = ok: message: lib.optional (!ok) message;
  unit = linux.systemd.user.services.nara;
  agent = darwin.launchd.agents.nara;
  # Home Manager applies lib.toList to ExecStart: one command is a list of one line.
  execStart = unit.Service.ExecStart;
  commandLine =
    if lib.isList execStart && lib.length execStart == 1
    then lib.head execStart
    else "";
  # Every argument is quoted for systemd; compare without the quotes.
  command = lib.replaceStrings ["\""] [""] commandLine;
in
  expect (lib.isList execStart && lib.length execStart == 1) "linux: ExecStart is one command line, as Home Manager's option gives it (a list), got ${builtins.toJSON execStart}"
  ++ expect (unit.Service.Type == "notify") "linux: Type=notify"
  ++ expect (lib.hasInfix "/bin/nara --config /nix/store/" command) "linux: runs nara --config FILE, got ${command}"
  ++ expect (lib.hasInfix "-nara-checked.toml " command) "linux: runs with the configuration file nara check-config passed, got ${command}"
  ++ expect (lib.any (lib.hasSuffix "-nara.toml") agent.config.ProgramArguments) "darwin: with checkConfig off, the generated file itself"
  ++ expect (lib.hasInfix "--soul-file /home/me/.config/nara/soul" command) "linux: --soul-file names the file outside the store"
  ++ expect (unit.Install.WantedBy == ["default.target"]) "linux: starts with the user session"
  ++ expect (lib.hasSuffix " \"--mqtt-user\" \"me%%h$$HOME\"" commandLine) "linux: % and $ escaped for systemd, got ${commandLine}"
  ++ expect (!(unit.Unit ? After)) "linux: no ordering after network-online.target, which a user manager lacks"
  ++ expect (agent.config.ProcessType == "Standard") "darwin: not throttled as a background job"
  ++ expect (unit.Service.LimitNOFILE == 65536) "linux: LimitNOFILE=65536"
  ++ expect (agent.config.SoftResourceLimits.NumberOfFiles == 65536 && agent.config.HardResourceLimits.NumberOfFiles == 65536) "darwin: 65536 open files"
  ++ expect (lib.last agent.config.ProgramArguments == "me%h$HOME") "darwin: arguments reach launchd as written"
  ++ expect (!(darwin ? systemd.user.services.nara)) "darwin: no systemd unit"
  ++ expect agent.enable "darwin: the agent is enabled"
  ++ expect (lib.elem "--soul-file" agent.config.ProgramArguments) "darwin: --soul-file is passed"
  ++ expect (agent.config.KeepAlive && agent.config.RunAtLoad) "darwin: kept alive and run at load"
  ++ expect (!(linux ? launchd.agents.nara)) "linux: no launchd agent"
  ++ expect (failed linux == [] && failed darwin == []) "no assertion fails where the check can run or is off, got ${builtins.toJSON (failed linux ++ failed darwin)}"
  ++ expect (lib.any (lib.hasInfix "services.nara.checkConfig") (failed cross)) "cross: checkConfig forced on is refused, naming the option, got ${builtins.toJSON (failed cross)}"
