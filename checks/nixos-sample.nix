# A NixOS configuration using services.nara the way an operator would: a main nara on
# loopback, one instance beside it, one disabled, a canary on a newer package.
# checks/nixos-module.nix asserts what it makes. The main nara's settings and
# arguments are in sample-settings.json, which tests/cli/check_config.rs runs
# `nara check-config` on.
let
  sample = builtins.fromJSON (builtins.readFile ./sample-settings.json);
in {
  services.nara = {
    enable = true;
    # The main nara beside its instances.
    mainUnit = true;
    openFirewall = true;
    soulFile = "/run/secrets/nara-soul";
    inherit (sample) settings extraArgs;
    instances = {
      kitchen = {
        port = 8081;
        soulFile = "/run/secrets/kitchen-soul";
        mqttPasswordFile = "/run/secrets/kitchen-mqtt";
        # `%` and `$` are systemd specifiers and expansions unless escaped.
        extraArgs = ["--require-plaza" "--mqtt-user" "kitchen%i$USER"];
      };
      garage = {
        enable = false;
        port = 8082;
      };
      canary = {
        port = 8090;
        package = {
          type = "derivation";
          name = "nara-next";
          outPath = "/nix/store/11111111111111111111111111111111-nara-next";
          meta.mainProgram = "nara";
        };
        soulFile = "/run/secrets/canary-soul";
        settings.name = "hall-canary";
      };
    };
  };
}
