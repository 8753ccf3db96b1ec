# What services.nara must make of checks/nixos-sample.nix: a list of failures, empty
# when all is well. The flake evaluates it against a real NixOS system; `make test`
# (with NIXPKGS_LIB) against nixpkgs' lib and stand-ins for the options NixOS declares
# (checks/nixos-cases.nix lists both).
{
  lib,
  config,
  ...
}: let
  inherit (config.systemd) services;
  hall = services.nara.serviceConfig;
  kitchen = services.nara-kitchen.serviceConfig;
  canary = services.nara-canary.serviceConfig;
  hardening = import ../modules/hardening.nix;
  expect = ok: message: lib.optional (!ok) message;
  # escapeSystemdExecArgs quotes every argument; compare without the quotes.
  command = unit: lib.replaceStrings ["\""] [""] unit.ExecStart;
  settings = config.services.nara.effectiveSettings;
  files = config.services.nara.configFiles;
  hardened = name: unit:
    lib.concatLists (lib.mapAttrsToList (key: value: expect (unit.${key} or null == value) "${name}: ${key} is not ${builtins.toJSON value}") hardening);
  naraUnits = lib.filter (lib.hasPrefix "nara") (lib.attrNames services);
in
  expect (naraUnits == ["nara" "nara-canary" "nara-kitchen"]) "units are nara, nara-canary and nara-kitchen (garage is disabled), got ${toString naraUnits}"
  ++ expect (lib.hasPrefix "/nix/store/11111111111111111111111111111111-nara-next/bin/nara " (command canary)) "nara-canary: runs its own package"
  ++ expect (!(lib.hasInfix "nara-next" (command hall))) "nara: keeps the shared package"
  ++ expect (hall.Type == "notify") "nara: Type=notify"
  ++ expect (hall.Restart == "on-failure") "nara: Restart=on-failure"
  ++ expect (lib.hasInfix "/bin/nara --config /nix/store/" (command hall)) "nara: ExecStart runs nara --config FILE, got ${hall.ExecStart}"
  ++ expect (lib.hasInfix "-nara-checked.toml " (command hall) && lib.hasInfix "-nara-kitchen-checked.toml " (command kitchen)) "each unit runs with its checked configuration file, got ${hall.ExecStart}"
  ++ expect (lib.hasInfix "/bin/nara check-config --config /nix/store/" files.nara.buildCommand) "nara: its configuration is built by a derivation that runs nara check-config"
  ++ expect (lib.hasInfix (lib.escapeShellArgs ["--plaza-newspaper-interval" "10s" "--require-plaza" "--mqtt-user" "kitchen%i$USER"]) files.nara-kitchen.buildCommand) "nara-kitchen: check-config sees the unit's arguments, got ${files.nara-kitchen.buildCommand}"
  ++ expect (lib.hasInfix "-nara-next/bin/nara check-config" files.nara-canary.buildCommand) "nara-canary: checked by its own package"
  ++ expect (lib.hasSuffix "--plaza-newspaper-interval 10s" (command hall)) "nara: ExecStart ends with extraArgs"
  ++ expect (hall.LoadCredential == ["soul:/run/secrets/nara-soul"]) "nara: the soul is a credential"
  ++ expect (kitchen.LoadCredential == ["soul:/run/secrets/kitchen-soul" "mqtt-password:/run/secrets/kitchen-mqtt"]) "nara-kitchen: its own soul and broker password are credentials"
  ++ expect (lib.hasSuffix "--plaza-newspaper-interval 10s --require-plaza --mqtt-user kitchen%%i$$USER" (command kitchen)) "nara-kitchen: shared then own extraArgs, % and $ escaped for systemd, got ${kitchen.ExecStart}"
  ++ expect (lib.hasSuffix " \"--mqtt-user\" \"kitchen%%i$$USER\"" kitchen.ExecStart) "nara-kitchen: each argument quoted for systemd, got ${kitchen.ExecStart}"
  ++ expect (settings.nara.http_addr == "127.0.0.1:8080" && settings.nara.name == "hall") "nara: its own address and name, got ${builtins.toJSON settings.nara}"
  ++ expect (settings.nara-kitchen.http_addr == "127.0.0.1:8081") "nara-kitchen: listens on its own port on the shared host, got ${settings.nara-kitchen.http_addr}"
  ++ expect (settings.nara-kitchen.name == "kitchen") "nara-kitchen: named after the instance, got ${settings.nara-kitchen.name}"
  ++ expect (settings.nara-canary.http_addr == "127.0.0.1:8090" && settings.nara-canary.name == "hall-canary") "nara-canary: own port, own name"
  ++ expect (settings.nara-kitchen.mqtt_url == "mqtt://broker.lan" && settings.nara-kitchen.plaza_missing_after == "10m") "nara-kitchen: shares the other settings"
  ++ expect (!(lib.hasInfix "/run/secrets" (hall.ExecStart + kitchen.ExecStart))) "no secret path on a command line"
  ++ expect (hall.TimeoutStopSec == "15s") "TimeoutStopSec exceeds the shutdown grace"
  ++ expect (hall.LimitNOFILE == 65536 && kitchen.LimitNOFILE == 65536) "LimitNOFILE=65536 on every unit, not systemd's 1024"
  ++ expect (lib.sort lib.lessThan config.networking.firewall.allowedTCPPorts == [8080 8081 8090]) "firewall opens 8080, 8081 and 8090, got ${toString config.networking.firewall.allowedTCPPorts}"
  ++ expect (config.services.nara.instances.kitchen.port == 8081) "instance port"
  # NixOS may warn about things of its own; nara's warnings name services.nara.
  ++ expect (!(lib.any (lib.hasInfix "services.nara") config.warnings)) "no warnings from services.nara, got ${builtins.toJSON config.warnings}"
  ++ hardened "nara" hall
  ++ hardened "nara-kitchen" kitchen
