# What a configuration written for the Go nara's NixOS module needs to evaluate and run
# the same naras here: `mqttHost` (renamed to `settings.mqtt_url`), an instance's
# `httpAddr` and `publicUrl` (its `settings.http_addr` and `settings.public_url`), the
# inline `soul`, and `mainUnit` off once instances are defined (the Go module's
# instances were the host's naras). Imported by modules/nixos.nix, which is nara's own
# module and knows none of these names.
{
  config,
  lib,
  pkgs,
  ...
}: let
  inherit (lib) mkOption types;
  cfg = config.services.nara;

  # A plain option that forwards to the instance's setting: the options manual shows
  # its own type, which an alias of a key inside `settings` cannot.
  forwarded = setting: example:
    mkOption {
      type = types.nullOr types.str;
      default = null;
      inherit example;
      description = "The Go nara's module's name for this instance's `settings.${setting}`.";
    };

  goInstance = {
    name,
    config,
    ...
  }: {
    options = {
      httpAddr = forwarded "http_addr" ":8080";
      publicUrl = forwarded "public_url" "https://kitchen.example.org";
      soul = mkOption {
        type = types.nullOr types.str;
        default = null;
        description = ''
          The soul itself, as the Go nara's module took it. It is written to the
          world-readable Nix store (and to any binary cache the system is pushed to),
          so this warns: prefer `soulFile`.
        '';
      };
    };
    config = {
      settings.http_addr = lib.mkIf (config.httpAddr != null) config.httpAddr;
      settings.public_url = lib.mkIf (config.publicUrl != null) config.publicUrl;
      # The store file is this instance's credential only when no soulFile is set.
      soulCredential = lib.mkIf (config.soul != null && config.soulFile == null) "${pkgs.writeText "nara-${name}-soul" config.soul}";
    };
  };
in {
  imports = [
    (lib.mkRenamedOptionModule ["services" "nara" "mqttHost"] ["services" "nara" "settings" "mqtt_url"])
  ];

  options.services.nara.instances = mkOption {
    type = types.attrsOf (types.submodule goInstance);
  };

  config = lib.mkMerge [
    {services.nara.mainUnit = lib.mkOptionDefault (cfg.instances == {});}
    (lib.mkIf cfg.enable {
      warnings = lib.concatLists (lib.mapAttrsToList (name: inst:
        lib.optional (inst.enable && inst.soul != null) "services.nara.instances.${name}.soul puts the soul in the world-readable Nix store, and in every binary cache this system is pushed to; keep it in a file outside the store and set services.nara.instances.${name}.soulFile instead.")
      cfg.instances);
    })
  ];
}
