# services.nara for Home Manager: nara as a user service, a systemd user unit on Linux
# and a launchd agent on macOS, with the options of the NixOS module that make sense
# for one user (no firewall, no instances).
{
  config,
  lib,
  pkgs,
  ...
}: let
  inherit (lib) mkOption types;
  cfg = config.services.nara;
  defaults = import ./defaults.nix;
  escapeSystemdExecArgs = import ./systemd-escape.nix {inherit lib;};
  settingsFormat = pkgs.formats.toml {};
  settingsFile = settingsFormat.generate "nara.toml" ({
      http_addr = "127.0.0.1:${toString cfg.port}";
    }
    // cfg.settings);
  arguments =
    lib.optionals (cfg.soulFile != null) ["--soul-file" cfg.soulFile]
    ++ lib.optionals (cfg.mqttPasswordFile != null) ["--mqtt-password-file" cfg.mqttPasswordFile]
    ++ cfg.extraArgs;
  # With checkConfig, `nara check-config` reads the file with the service's arguments
  # at build time (opening no secret), so a bad setting fails the switch, not the start.
  configFile =
    if cfg.checkConfig
    then
      pkgs.runCommandLocal "nara-checked.toml" {} ''
        ${lib.getExe cfg.package} check-config --config ${settingsFile} ${lib.escapeShellArgs arguments}
        cp ${settingsFile} $out
      ''
    else settingsFile;
  command = [(lib.getExe cfg.package) "--config" "${configFile}"] ++ arguments;
in {
  options.services.nara = {
    enable = lib.mkEnableOption "nara as a user service";

    package = lib.mkPackageOption pkgs "nara" {};

    port = mkOption {
      type = types.port;
      default = defaults.port;
      description = "The port nara listens on, on loopback unless `settings.http_addr` says otherwise.";
    };

    settings = mkOption {
      inherit (settingsFormat) type;
      default = {};
      example = lib.literalExpression ''{ name = "laptop"; mqtt_url = "mqtts://broker.example.org"; }'';
      description = "nara's configuration file (`--config`), as TOML.";
    };

    soulFile = mkOption {
      type = types.nullOr (types.strMatching "/.*");
      default = null;
      example = "/Users/me/.config/nara/soul";
      description = "Absolute path of the file holding the soul (a string, so it stays out of the Nix store).";
    };

    mqttPasswordFile = mkOption {
      type = types.nullOr (types.strMatching "/.*");
      default = null;
      description = "Absolute path of the file holding the broker password.";
    };

    extraArgs = mkOption {
      type = types.listOf types.str;
      default = [];
      description = "Extra command-line arguments.";
    };

    checkConfig = mkOption {
      type = types.bool;
      default = pkgs.stdenv.buildPlatform.canExecute pkgs.stdenv.hostPlatform;
      defaultText = lib.literalExpression "pkgs.stdenv.buildPlatform.canExecute pkgs.stdenv.hostPlatform";
      description = ''
        Run `nara check-config` on the configuration file and arguments when the
        configuration is built, so a bad setting fails the switch rather than the start.
        Off by default where the build machine cannot run the package (cross builds),
        and refused there.
      '';
    };
  };

  config = lib.mkIf cfg.enable (lib.mkMerge [
    {
      assertions = [
        {
          assertion = !cfg.checkConfig || pkgs.stdenv.buildPlatform.canExecute pkgs.stdenv.hostPlatform;
          message = "services.nara.checkConfig is on, but this configuration is built on ${pkgs.stdenv.buildPlatform.system} for ${pkgs.stdenv.hostPlatform.system}, which the build machine cannot run; set services.nara.checkConfig = false.";
        }
      ];
    }
    (lib.mkIf pkgs.stdenv.hostPlatform.isLinux {
      systemd.user.services.nara = {
        # No ordering after network-online.target: a user manager has no such target.
        Unit.Description = "nara: API, web UI and docs on port ${toString cfg.port}";
        Service = {
          Type = "notify";
          # One command line, quoted for systemd (a list would be several commands).
          ExecStart = escapeSystemdExecArgs command;
          Restart = "on-failure";
          RestartSec = "2s";
          TimeoutStopSec = "${toString defaults.stopTimeoutSeconds}s";
          # The user manager's default soft limit (1024) would cap nara near a
          # thousand clients.
          LimitNOFILE = defaults.openFiles;
        };
        Install.WantedBy = ["default.target"];
      };
    })
    (lib.mkIf pkgs.stdenv.hostPlatform.isDarwin {
      launchd.agents.nara = {
        enable = true;
        config = {
          ProgramArguments = command;
          KeepAlive = true;
          RunAtLoad = true;
          # Background would throttle a server's CPU and I/O; Standard is launchd's
          # ordinary treatment.
          ProcessType = "Standard";
          # launchd's default of 256 open files would cap nara at a few hundred clients.
          SoftResourceLimits.NumberOfFiles = defaults.openFiles;
          HardResourceLimits.NumberOfFiles = defaults.openFiles;
          StandardOutPath = "${config.home.homeDirectory}/Library/Logs/nara.log";
          StandardErrorPath = "${config.home.homeDirectory}/Library/Logs/nara.log";
        };
      };
    })
  ]);
}
