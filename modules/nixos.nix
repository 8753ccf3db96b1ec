# services.nara: nara as a hardened systemd service on NixOS.
#
# With no instances, `services.nara` runs the unit `nara`. Each
# `services.nara.instances.NAME` runs `nara-NAME`, the nara named NAME, with its own
# port and secrets, taking every setting it does not set from `services.nara`; the unit
# `nara` then runs beside them only with `mainUnit = true`. Secrets (the soul, the
# broker password) reach the units as systemd credentials (LoadCredential): never the
# Nix store, never a command line.
#
# Nothing runs unless `enable` is set. A configuration written for the Go nara's module
# evaluates too, through modules/nixos-go-compat.nix, which this file imports.
{
  config,
  lib,
  pkgs,
  utils,
  ...
}: let
  inherit (lib) mkOption types;
  cfg = config.services.nara;
  defaults = import ./defaults.nix;
  settingsFormat = pkgs.formats.toml {};

  settingsType = types.submodule {
    freeformType = settingsFormat.type;
    options = {
      http_addr = mkOption {
        type = types.nullOr types.str;
        default = null;
        example = "127.0.0.1:8080";
        description = "Listen address (HOST:PORT, :PORT or [IPv6]:PORT). Unset: all interfaces at `port`.";
      };
      name = mkOption {
        type = types.nullOr types.str;
        default = null;
        description = "This nara's name. Unset: the hostname, or a friendly name for a generic one.";
      };
      log_format = mkOption {
        type = types.nullOr (types.enum ["auto" "json" "pretty"]);
        default = null;
        description = "Log format. Unset: json, which the journal takes best.";
      };
      mqtt_url = mkOption {
        type = types.nullOr types.str;
        default = null;
        example = "mqtts://broker.example.org";
        description = "The plaza's MQTT broker. Unset: nara runs alone.";
      };
      mqtt_user = mkOption {
        type = types.nullOr types.str;
        default = null;
        description = "Broker user name; the password comes from `mqttPasswordFile`.";
      };
      public_url = mkOption {
        type = types.nullOr types.str;
        default = null;
        example = "https://kitchen.example.org/";
        description = "Where this nara's web UI is reachable, announced in its newspaper.";
      };
      on_event = mkOption {
        type = types.nullOr (types.listOf types.str);
        default = null;
        example = ["missing,leave=/run/current-system/sw/bin/nara-page"];
        description = ''
          Event hooks: programs run, without a shell, on the plaza's confirmed changes,
          each `[EVENTS=]PROGRAM` with an absolute path (a script in the store). A
          webhook's URL is a secret and never a setting: give `NARA_ON_EVENT_URL` in
          `environmentFile`.
        '';
      };
      tag = mkOption {
        type = types.nullOr (types.either (types.listOf types.str) (types.attrsOf types.str));
        default = null;
        example = {
          role = "db";
          site = "lisbon";
        };
        apply = tags:
          if builtins.isAttrs tags
          then lib.mapAttrsToList (key: value: "${key}=${value}") tags
          else tags;
        description = ''
          Tags signed into this nara's newspaper, for the API, the web UI and the fleet
          metrics to filter and group by: an attribute set (`{ role = "db"; }`) or a list
          of `KEY=VALUE` (the file gets the list). Up to 16; `os` and `arch` are added
          unless given, and `ephemeral = "true"` keeps its departures from running hooks.
        '';
      };
    };
  };

  # The Go nara's module took a Nix path here. The unit names it by `toString`, which
  # copies nothing into the store, so the unit reads the file where it is. A path inside
  # a flake is in the store already, with no string context to take it to the machine
  # that runs the unit (nor to keep it from the garbage collector): the module refuses
  # it, as it refuses any secret in the store (below).
  environmentFileType = types.nullOr (types.either types.str types.path);

  secretPath = what:
    mkOption {
      type = types.nullOr (types.strMatching "/.*");
      default = null;
      example = "/run/secrets/nara-${what}";
      description = ''
        Absolute path of a file holding the ${what}, read by systemd and handed to
        nara as the credential `${what}`. A string, not a Nix path, so the secret
        is never copied into the world-readable Nix store.
      '';
    };

  # Options an instance sets for itself; `null` takes the value from services.nara.
  instanceModule = {
    name,
    config,
    ...
  }: {
    options = {
      enable = mkOption {
        type = types.bool;
        default = true;
        description = "Whether to run the instance `nara-${name}`.";
      };
      port = mkOption {
        type = types.nullOr types.port;
        default = null;
        description = ''
          The port this instance listens on. Unset: the port of `settings.http_addr`
          if it names one, else a free port on 127.0.0.1, with a warning.
        '';
      };
      package = mkOption {
        type = types.nullOr types.package;
        default = null;
        description = "The package for this instance (a canary runs a newer one). Unset: `services.nara.package`.";
      };
      settings = mkOption {
        type = settingsType;
        default = {};
        description = ''
          Settings for this instance, over `services.nara.settings`. Two are its own and
          never taken from there: `name` (unset: the instance's name) and `http_addr`
          (unset: `port`, on the host of `services.nara.settings.http_addr` if set).
        '';
      };
      soulFile = secretPath "soul";
      soulCredential = mkOption {
        type = types.nullOr types.str;
        default = config.soulFile;
        defaultText = lib.literalExpression "soulFile";
        internal = true;
        description = "The file systemd reads the credential `soul` from: `soulFile`, unless the Go module's inline `soul` stands in for it.";
      };
      mqttPasswordFile = secretPath "mqtt-password";
      openFirewall = mkOption {
        type = types.nullOr types.bool;
        default = null;
        description = "Open this instance's port. Unset: as `services.nara.openFirewall`.";
      };
      environmentFile = mkOption {
        type = environmentFileType;
        default = null;
        description = "Environment file for this instance. Unset: `services.nara.environmentFile`.";
      };
      extraArgs = mkOption {
        type = types.listOf types.str;
        default = [];
        description = "Arguments after `services.nara.extraArgs`.";
      };
    };
  };

  # Every unit to run, with the shared options applied: name -> resolved instance.
  # An instance's address and name are its own: it listens on its own port (on the
  # host of services.nara's http_addr, if one is set) and is the nara named after it.
  # None unless services.nara.enable is set.
  units = lib.optionalAttrs cfg.enable (
    lib.optionalAttrs cfg.mainUnit {
      nara = {
        inherit (cfg) package port soulFile mqttPasswordFile openFirewall environmentFile extraArgs;
        settings = nonNull cfg.settings;
        option = "services.nara";
      };
    }
    // lib.mapAttrs' (name: inst:
      lib.nameValuePair "nara-${name}" {
        inherit (inst) mqttPasswordFile;
        option = "services.nara.instances.${name}";
        port =
          if inst.port != null
          then inst.port
          else portOf (inst.settings.http_addr or null);
        soulFile = inst.soulCredential;
        package =
          if inst.package == null
          then cfg.package
          else inst.package;
        settings =
          removeAttrs (nonNull cfg.settings) ["http_addr" "name"]
          // {
            inherit name;
            http_addr =
              if inst.port != null
              then "${hostOf (cfg.settings.http_addr or null)}:${toString inst.port}"
              else "127.0.0.1:0";
          }
          // nonNull inst.settings;
        openFirewall =
          if inst.openFirewall == null
          then cfg.openFirewall
          else inst.openFirewall;
        environmentFile =
          if inst.environmentFile == null
          then cfg.environmentFile
          else inst.environmentFile;
        extraArgs = cfg.extraArgs ++ inst.extraArgs;
      })
    enabledInstances
  );

  # The host part of "HOST:PORT", ":PORT" or "[IPv6]:PORT"; "" (all interfaces) for none.
  hostOf = addr: let
    found =
      if addr == null
      then null
      else builtins.match "(.*):[0-9]+" addr;
  in
    if found == null
    then ""
    else lib.head found;
  portOf = addr: let
    found =
      if addr == null
      then null
      else builtins.match ".*:([0-9]+)" addr;
  in
    if found == null
    then null
    else lib.toInt (lib.head found);

  nonNull = lib.filterAttrs (_: v: v != null);

  # What each unit's --config file holds: the module's defaults under its settings.
  unitSettings = unit:
    {
      http_addr =
        if unit.port == null
        then "127.0.0.1:0"
        else ":${toString unit.port}";
      log_format = "json";
    }
    // unit.settings;

  # Each unit's --config file. With checkConfig, the package's own `nara check-config`
  # reads it with the unit's arguments at build time, so a bad setting fails the
  # build, not the boot. It sees the file and the arguments only: no secret (none
  # need exist on the build machine) and no environment file. A plain copy after a
  # check needs no C compiler, hence runCommandLocal.
  configFile = unitName: unit: let
    file = settingsFormat.generate "${unitName}.toml" (unitSettings unit);
  in
    if cfg.checkConfig
    then
      pkgs.runCommandLocal "${unitName}-checked.toml" {} ''
        ${lib.getExe unit.package} check-config --config ${file} ${lib.escapeShellArgs unit.extraArgs}
        cp ${file} $out
      ''
    else file;

  serviceFor = unitName: unit: {
    description = "nara (${unitName}): API, web UI and docs on ${(unitSettings unit).http_addr}";
    wantedBy = ["multi-user.target"];
    wants = ["network-online.target"];
    after = ["network-online.target"];
    serviceConfig =
      import ./hardening.nix
      // {
        Type = "notify";
        # Quoted for systemd: `%` and `$` in an argument reach nara as written.
        ExecStart = utils.escapeSystemdExecArgs ([(lib.getExe unit.package) "--config" "${cfg.configFiles.${unitName}}"] ++ unit.extraArgs);
        Restart = "on-failure";
        RestartSec = "2s";
        TimeoutStopSec = "${toString defaults.stopTimeoutSeconds}s";
        # systemd's default soft limit (1024) would cap nara near a thousand clients.
        LimitNOFILE = defaults.openFiles;
        # The view kept across restarts (first seen, version histories, key pins, replay
        # anchors): systemd makes /var/lib/<unit> for the dynamic user, keeps it across
        # restarts and reboots, and sets STATE_DIRECTORY, which nara takes unless
        # settings.state_dir names another directory.
        StateDirectory = unitName;
        StateDirectoryMode = "0700";
        LoadCredential =
          lib.optional (unit.soulFile != null) "soul:${unit.soulFile}"
          ++ lib.optional (unit.mqttPasswordFile != null) "mqtt-password:${unit.mqttPasswordFile}";
        # toString, not "${...}": interpolating a Nix path would copy the file (and the
        # password in it) into the world-readable store.
        EnvironmentFile = lib.optional (unit.environmentFile != null) (toString unit.environmentFile);
      };
  };

  # Secrets the unit reads at run time, by option name: none may be in the store.
  secretOptions = lib.filterAttrs (_: value: value != null) ({
      "services.nara.soulFile" = cfg.soulFile;
      "services.nara.mqttPasswordFile" = cfg.mqttPasswordFile;
    }
    // lib.concatMapAttrs (name: inst: {
      "services.nara.instances.${name}.soulFile" = inst.soulFile;
      "services.nara.instances.${name}.mqttPasswordFile" = inst.mqttPasswordFile;
    })
    enabledInstances);
  # The environment files as given, a string or a Nix path, by option name.
  environmentFiles = lib.filterAttrs (_: value: value != null) ({
      "services.nara.environmentFile" = cfg.environmentFile;
    }
    // lib.concatMapAttrs (name: inst: {
      "services.nara.instances.${name}.environmentFile" = inst.environmentFile;
    })
    enabledInstances);
  inStore = path: lib.hasPrefix "${builtins.storeDir}/" path;
  enabledInstances = lib.filterAttrs (_: inst: inst.enable) cfg.instances;
in {
  imports = [./nixos-go-compat.nix];

  options.services.nara = {
    enable = lib.mkEnableOption "nara, serving its API, web UI and docs on one port";

    # The default (modules/nixos-go-compat.nix) is the Go nara's module's behaviour.
    mainUnit = mkOption {
      type = types.bool;
      defaultText = lib.literalExpression "config.services.nara.instances == { }";
      description = ''
        Run the unit `nara`, configured by the options of `services.nara` itself. By
        default only when no instances are defined: the instances are then this host's
        naras, as in the Go nara's module. Set it to run the unit `nara` beside them
        (a canary instance next to the main nara).
      '';
    };

    package = lib.mkPackageOption pkgs "nara" {};

    port = mkOption {
      type = types.port;
      default = defaults.port;
      description = "The port nara listens on (all interfaces unless `settings.http_addr` says otherwise).";
    };

    settings = mkOption {
      type = settingsType;
      default = {};
      example = lib.literalExpression ''
        {
          name = "kitchen";
          mqtt_url = "mqtts://broker.example.org";
          mqtt_user = "kitchen";
          plaza_missing_after = "10m";
        }
      '';
      description = ''
        nara's configuration file (`--config`), as TOML; any key the configuration
        reference lists. Secrets do not belong here: see `soulFile` and
        `mqttPasswordFile`.
      '';
    };

    soulFile = secretPath "soul";
    mqttPasswordFile = secretPath "mqtt-password";

    openFirewall = mkOption {
      type = types.bool;
      default = false;
      description = "Open the port in the firewall.";
    };

    environmentFile = mkOption {
      type = environmentFileType;
      default = null;
      example = "/run/secrets/nara.env";
      description = ''
        A file of NAME=value lines for the unit's environment (e.g. NARA_MQTT_PASSWORD),
        read by systemd when the unit starts. Give its absolute path as a string,
        outside the Nix store. A Nix path, as the Go nara's module took, is named where
        it is, never copied (with a warning); one already in the store, as a flake's
        files are, is refused.
      '';
    };

    extraArgs = mkOption {
      type = types.listOf types.str;
      default = [];
      example = ["--plaza-newspaper-interval" "10s"];
      description = "Extra command-line arguments.";
    };

    checkConfig = mkOption {
      type = types.bool;
      default = pkgs.stdenv.buildPlatform.canExecute pkgs.stdenv.hostPlatform;
      defaultText = lib.literalExpression "pkgs.stdenv.buildPlatform.canExecute pkgs.stdenv.hostPlatform";
      description = ''
        Run `nara check-config` on each unit's configuration file and arguments when the
        system is built, so a bad setting fails `nixos-rebuild` rather than the boot.
        The check sees the file and the arguments, not the environment file or the
        credentials. Off by default where the build machine cannot run the package
        (cross builds), and refused there.
      '';
    };

    configFiles = mkOption {
      type = types.attrsOf types.package;
      readOnly = true;
      default = lib.mapAttrs configFile units;
      defaultText = lib.literalMD "each unit's configuration file";
      description = ''
        Read-only: the configuration file each unit runs with, by unit name, as built
        (checked by `nara check-config` when `checkConfig` is on).
      '';
    };

    effectiveSettings = mkOption {
      type = types.attrsOf settingsFormat.type;
      readOnly = true;
      default = lib.mapAttrs (_: unitSettings) units;
      defaultText = lib.literalMD "the settings each unit runs with";
      description = ''
        Read-only: each unit's configuration file after instances take their own
        address and name, by unit name (`nara`, `nara-kitchen`). Handy for a reverse
        proxy: `config.services.nara.effectiveSettings.nara-kitchen.http_addr`.
      '';
    };

    instances = mkOption {
      type = types.attrsOf (types.submodule instanceModule);
      default = {};
      example = lib.literalExpression ''
        {
          kitchen = { port = 8081; soulFile = "/run/secrets/kitchen-soul"; };
          garage = { port = 8082; soulFile = "/run/secrets/garage-soul"; };
        }
      '';
      description = "Further naras on this host, each the unit `nara-NAME` on its own port.";
    };
  };

  config = lib.mkIf cfg.enable {
    warnings =
      lib.optional (units == {}) "services.nara.enable is set, but no nara runs: every instance is disabled and services.nara.mainUnit is false."
      # A Nix path in the store is refused (assertions); one outside it is named as is.
      ++ lib.mapAttrsToList (option: path: "${option} is a Nix path (${toString path}): the unit reads the file there, on the machine that runs nara, and nothing copies it there (neither nixos-rebuild --target-host, deploy-rs nor colmena); give the path as a string, \"${toString path}\", to say that is meant.")
      (lib.filterAttrs (_: value: builtins.isPath value && !inStore (toString value)) environmentFiles)
      ++ lib.concatLists (lib.mapAttrsToList (name: inst:
        lib.optional (inst.port == null && units."nara-${name}".port == null) "services.nara.instances.${name} has no port and its settings.http_addr names none, so it listens on a free port on 127.0.0.1; set its port to reach its web UI.")
      enabledInstances)
      ++ lib.optional (!cfg.mainUnit && (cfg.soulFile != null || cfg.mqttPasswordFile != null)) "services.nara.soulFile or mqttPasswordFile is set, but the unit nara does not run: with instances defined it runs only with services.nara.mainUnit = true.";

    assertions = let
      ports = lib.filter (port: port != null) (lib.mapAttrsToList (_: unit: unit.port) units);
    in
      [
        {
          assertion = lib.length ports == lib.length (lib.unique ports);
          message = "services.nara: every instance needs its own port; got ${toString ports}.";
        }
        {
          assertion = !cfg.checkConfig || pkgs.stdenv.buildPlatform.canExecute pkgs.stdenv.hostPlatform;
          message = "services.nara.checkConfig is on, but this system is built on ${pkgs.stdenv.buildPlatform.system} for ${pkgs.stdenv.hostPlatform.system}, which the build machine cannot run; set services.nara.checkConfig = false.";
        }
      ]
      ++ lib.mapAttrsToList (option: path: {
        assertion = !inStore path;
        message = "${option} (${path}) is in the Nix store, which every user of the machine can read; keep the secret in a file outside the store (sops-nix, agenix, or a file you place) and give its path.";
      })
      secretOptions
      ++ lib.mapAttrsToList (option: file: let
        path = toString file;
      in
        if builtins.isPath file
        then {
          # No context goes with it: the machine that runs the unit may lack it, and
          # the next garbage collection removes it.
          assertion = !inStore path;
          message = "${option} (${path}) is a Nix path in the Nix store (a flake's files are), which every user of the machine can read, and nothing takes it to the machine that runs nara or keeps it there; keep the file outside the store (sops-nix, agenix, or a file you place) and give its absolute path as a string, such as \"/run/secrets/nara.env\".";
        }
        else {
          assertion = !inStore path && lib.hasPrefix "/" path;
          message =
            if inStore path
            then "${option} (${path}) is in the Nix store, which every user of the machine can read; keep the secret in a file outside the store (sops-nix, agenix, or a file you place) and give its path."
            else "${option} (\"${path}\") is not an absolute path: systemd ignores a relative EnvironmentFile= and would start nara without the variables in it; give the file's absolute path, such as \"/run/secrets/nara.env\".";
        })
      environmentFiles
      ++ lib.mapAttrsToList (_: unit: let
        addr = unit.settings.http_addr or null;
      in {
        assertion = addr == null || portOf addr == null || unit.port == null || portOf addr == unit.port;
        message = "${unit.option}.settings.http_addr (${toString addr}) listens on another port than ${unit.option}.port (${toString unit.port}); make them agree, the firewall opens the port option.";
      })
      units;

    systemd.services = lib.mapAttrs serviceFor units;

    networking.firewall.allowedTCPPorts = lib.mapAttrsToList (_: unit: unit.port) (lib.filterAttrs (_: unit: unit.openFirewall && unit.port != null) units);
  };
}
