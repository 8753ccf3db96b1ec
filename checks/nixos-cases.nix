# Every NixOS configuration services.nara is evaluated with, and what it must make of
# each: `nix flake check` (checks.module-eval) evaluates them in a real NixOS system,
# `make nix-check` (`cargo xtask nix-eval`) with nixpkgs' lib and stand-ins for what
# NixOS declares. Each case's `expect` returns a list of failures, empty when all is
# well; a failed assertion is a failure too, unless the case expects assertions to fail
# (`failingAssertions`) and checks their messages itself.
{lib}: let
  expect = ok: message: lib.optional (!ok) message;
  naraUnits = config: lib.filter (lib.hasPrefix "nara") (lib.attrNames config.systemd.services);
  # What a warning or an assertion says, matched on several fragments at once.
  saysAll = needles: text: lib.all (needle: lib.hasInfix needle text) needles;
  warned = config: needles: lib.any (saysAll needles) config.warnings;
  asserted = failedAssertions: needles: lib.any (saysAll needles) failedAssertions;
  # A Nix path outside the store in either evaluation: a copy of it into the store
  # would fail the evaluation (no such file, or forbidden in a flake's pure one).
  environmentFile = /etc/nixos/nara.env;
  # A Nix path in the store, as a flake's files are: the flake is copied there whole.
  flakeFile = name: /. + "${builtins.storeDir}/00000000000000000000000000000000-source/${name}";
  environmentFiles = config: unit: config.systemd.services.${unit}.serviceConfig.EnvironmentFile;
in {
  # An operator's configuration: a main nara, instances, a canary.
  sample = {
    configuration = ./nixos-sample.nix;
    expect = import ./nixos-module.nix;
  };

  # A configuration written for the Go nara's module.
  go = {
    configuration = ./nixos-go-sample.nix;
    expect = import ./nixos-go-module.nix;
  };

  # Turning nara off turns off every nara, instances included.
  off = {
    configuration = {
      services.nara = {
        enable = false;
        mainUnit = true;
        openFirewall = true;
        instances.kitchen.port = 8081;
        instances.garage = {
          port = 8082;
          openFirewall = true;
        };
      };
    };
    expect = {config, ...}:
      expect (naraUnits config == []) "enable = false runs no nara unit, got ${toString (naraUnits config)}"
      ++ expect (config.networking.firewall.allowedTCPPorts == []) "enable = false opens no port, got ${toString config.networking.firewall.allowedTCPPorts}"
      ++ expect (config.services.nara.effectiveSettings == {}) "enable = false has no effective settings, got ${builtins.toJSON (lib.attrNames config.services.nara.effectiveSettings)}"
      ++ expect (!(warned config ["services.nara"])) "enable = false warns about nothing, got ${builtins.toJSON config.warnings}";
  };

  # On, with nothing to run: it says so.
  idle = {
    configuration = {
      services.nara = {
        enable = true;
        instances.garage = {
          enable = false;
          port = 8082;
        };
      };
    };
    expect = {config, ...}:
      expect (naraUnits config == []) "only disabled instances and no mainUnit: no unit, got ${toString (naraUnits config)}"
      ++ expect (warned config ["services.nara.enable" "no nara runs"]) "enable with nothing to run warns, got ${builtins.toJSON config.warnings}";
  };

  # Event hooks are a list of programs in the settings file, shared by the instances
  # as every setting is; each instance may have its own.
  hooks = {
    configuration = {
      services.nara = {
        enable = true;
        mainUnit = true;
        settings.on_event = ["missing,leave=/run/current-system/sw/bin/nara-page"];
        instances.kitchen.port = 8081;
        instances.garage = {
          port = 8082;
          settings.on_event = ["/run/current-system/sw/bin/nara-log"];
        };
      };
    };
    expect = {config, ...}: let
      hooksOf = unit: config.services.nara.effectiveSettings.${unit}.on_event or null;
    in
      expect (hooksOf "nara" == ["missing,leave=/run/current-system/sw/bin/nara-page"]) "on_event reaches the settings file as a list, got ${builtins.toJSON (hooksOf "nara")}"
      ++ expect (hooksOf "nara-kitchen" == hooksOf "nara") "an instance takes the shared hooks, got ${builtins.toJSON (hooksOf "nara-kitchen")}"
      ++ expect (hooksOf "nara-garage" == ["/run/current-system/sw/bin/nara-log"]) "an instance's own hooks replace the shared ones, got ${builtins.toJSON (hooksOf "nara-garage")}";
  };

  # Tags as an attribute set reach the settings file as the list of KEY=VALUE that
  # --tag takes; a list is taken as it is, and an instance's own replace the shared.
  tags = {
    configuration = {
      services.nara = {
        enable = true;
        mainUnit = true;
        settings.tag = {
          role = "db";
          site = "lisbon";
        };
        instances.kitchen.port = 8081;
        instances.canary = {
          port = 8082;
          settings.tag = ["ephemeral=true"];
        };
      };
    };
    expect = {config, ...}: let
      tagsOf = unit: config.services.nara.effectiveSettings.${unit}.tag or null;
    in
      expect (tagsOf "nara" == ["role=db" "site=lisbon"]) "tag reaches the settings file as a list of KEY=VALUE, got ${builtins.toJSON (tagsOf "nara")}"
      ++ expect (tagsOf "nara-kitchen" == tagsOf "nara") "an instance takes the shared tags, got ${builtins.toJSON (tagsOf "nara-kitchen")}"
      ++ expect (tagsOf "nara-canary" == ["ephemeral=true"]) "an instance's own tags replace the shared ones, got ${builtins.toJSON (tagsOf "nara-canary")}";
  };

  # A Nix path outside the store as the environment file is named where it is: never
  # copied into the store, so no string context takes a secret into the closure.
  environment-file-path = {
    configuration = {
      services.nara = {
        enable = true;
        inherit environmentFile;
        instances.kitchen = {
          port = 8081;
          inherit environmentFile;
        };
        mainUnit = true;
      };
    };
    expect = {config, ...}: let
      given = toString environmentFile;
      files = environmentFiles config;
      contexts = unit: map builtins.getContext (files unit);
    in
      expect (files "nara" == [given]) "a Nix path environmentFile is the file itself (${given}), not a copy in the store, got ${builtins.toJSON (files "nara")}"
      ++ expect (files "nara-kitchen" == [given]) "an instance's Nix path environmentFile is the file itself, got ${builtins.toJSON (files "nara-kitchen")}"
      ++ expect (contexts "nara" == [{}] && contexts "nara-kitchen" == [{}]) "a Nix path outside the store renders with no string context (nothing of the store goes with it), got ${builtins.toJSON (contexts "nara" ++ contexts "nara-kitchen")}"
      ++ expect (warned config ["services.nara.environmentFile" given "nothing copies it"]) "a Nix path warns that the machine running nara needs the file there, got ${builtins.toJSON config.warnings}"
      ++ expect (warned config ["services.nara.instances.kitchen.environmentFile" given]) "an instance's Nix path warns too";
  };

  # A Nix path inside a flake is in the store, where it has no string context to take
  # it to the machine that runs nara (nixos-rebuild --target-host, deploy-rs, colmena)
  # and every user can read it: refused, naming the option. What the unit would get
  # carries no context either: the module never copies the file.
  environment-file-in-flake = {
    failingAssertions = true;
    configuration = {
      services.nara = {
        enable = true;
        mainUnit = true;
        environmentFile = flakeFile "nara.env";
        instances.kitchen = {
          port = 8081;
          environmentFile = flakeFile "kitchen.env";
        };
      };
    };
    expect = {
      config,
      failedAssertions,
      ...
    }: let
      refused = option: name: asserted failedAssertions ["${option} (${builtins.storeDir}/" "-source/${name}) is a Nix path in the Nix store" "as a string"];
      contexts = lib.concatMap (unit: map builtins.getContext (environmentFiles config unit)) ["nara" "nara-kitchen"];
    in
      expect (refused "services.nara.environmentFile" "nara.env") "a flake's path as environmentFile is refused by an assertion naming the option, got ${builtins.toJSON failedAssertions}"
      ++ expect (refused "services.nara.instances.kitchen.environmentFile" "kitchen.env") "an instance's flake path is refused too, got ${builtins.toJSON failedAssertions}"
      ++ expect (lib.length failedAssertions == 2) "one refusal per environment file, got ${builtins.toJSON failedAssertions}"
      ++ expect (contexts == [{} {}]) "the module copies no environment file into the store, got the contexts ${builtins.toJSON contexts}";
  };

  # systemd ignores a relative EnvironmentFile= and starts without it: refused.
  environment-file-relative = {
    failingAssertions = true;
    configuration = {
      services.nara = {
        enable = true;
        mainUnit = true;
        environmentFile = "nara.env";
        instances.kitchen = {
          port = 8081;
          environmentFile = "secrets/kitchen.env";
        };
        instances.garage = {
          port = 8082;
          environmentFile = "/run/secrets/garage.env";
        };
      };
    };
    expect = {failedAssertions, ...}: let
      refused = option: given: asserted failedAssertions ["${option} (\"${given}\") is not an absolute path"];
    in
      expect (refused "services.nara.environmentFile" "nara.env") "a relative environmentFile is refused by an assertion naming the option, got ${builtins.toJSON failedAssertions}"
      ++ expect (refused "services.nara.instances.kitchen.environmentFile" "secrets/kitchen.env") "an instance's relative environmentFile is refused too, got ${builtins.toJSON failedAssertions}"
      ++ expect (lib.length failedAssertions == 2) "an absolute environmentFile is not refused; one refusal per relative one, got ${builtins.toJSON failedAssertions}";
  };

  # No secret may be read from the store; each assertion names its option.
  secrets-in-store = {
    failingAssertions = true;
    configuration = {
      services.nara = {
        enable = true;
        mainUnit = true;
        soulFile = "/nix/store/00000000000000000000000000000000-soul";
        mqttPasswordFile = "/nix/store/00000000000000000000000000000000-password";
        environmentFile = "/nix/store/00000000000000000000000000000000-nara.env";
        instances.kitchen = {
          port = 8081;
          soulFile = "/nix/store/00000000000000000000000000000000-kitchen-soul";
          mqttPasswordFile = "/nix/store/00000000000000000000000000000000-kitchen-password";
          environmentFile = "/nix/store/00000000000000000000000000000000-kitchen.env";
        };
        instances.garage = {
          port = 8082;
          soulFile = "/run/secrets/garage-soul";
        };
      };
    };
    expect = {failedAssertions, ...}: let
      options = [
        "services.nara.soulFile"
        "services.nara.mqttPasswordFile"
        "services.nara.environmentFile"
        "services.nara.instances.kitchen.soulFile"
        "services.nara.instances.kitchen.mqttPasswordFile"
        "services.nara.instances.kitchen.environmentFile"
      ];
      refused = option: asserted failedAssertions ["${option} (/nix/store/" "Nix store"];
    in
      lib.concatMap (option: expect (refused option) "${option} in the store is refused by an assertion naming it, got ${builtins.toJSON failedAssertions}") options
      ++ expect (!(asserted failedAssertions ["garage"])) "a secret outside the store is not refused"
      ++ expect (lib.length failedAssertions == lib.length options) "one refusal per secret in the store, got ${builtins.toJSON failedAssertions}";
  };

  # Each unit keeps its view in a state directory of its own, which systemd makes and
  # names in STATE_DIRECTORY: two naras of one host never share one.
  state = {
    configuration = {
      services.nara = {
        enable = true;
        mainUnit = true;
        instances.kitchen.port = 8081;
      };
    };
    expect = {config, ...}: let
      unit = name: config.systemd.services.${name}.serviceConfig;
    in
      expect ((unit "nara").StateDirectory == "nara") "the unit nara keeps its view in StateDirectory=nara, got ${builtins.toJSON ((unit "nara").StateDirectory or null)}"
      ++ expect ((unit "nara-kitchen").StateDirectory == "nara-kitchen") "an instance keeps its view in a directory of its own, got ${builtins.toJSON ((unit "nara-kitchen").StateDirectory or null)}"
      ++ expect ((unit "nara").StateDirectoryMode == "0700") "the state directory is the unit's alone";
  };

  # The build machine cannot run an aarch64 nara: a forced check is refused.
  cross = {
    failingAssertions = true;
    configuration = {
      nixpkgs.buildPlatform = "x86_64-linux";
      nixpkgs.hostPlatform = "aarch64-linux";
      services.nara = {
        enable = true;
        checkConfig = true;
      };
    };
    expect = {failedAssertions, ...}:
      expect (asserted failedAssertions ["services.nara.checkConfig" "x86_64-linux" "aarch64-linux"]) "checkConfig forced on in a cross build is refused, naming the option, got ${builtins.toJSON failedAssertions}";
  };

  # Left alone, a cross build skips the check and builds the plain file.
  cross-default = {
    configuration = {
      nixpkgs.buildPlatform = "x86_64-linux";
      nixpkgs.hostPlatform = "aarch64-linux";
      services.nara.enable = true;
    };
    expect = {config, ...}:
      expect (!config.services.nara.checkConfig) "checkConfig is off by default in a cross build"
      ++ expect (lib.hasSuffix "-nara.toml" "${config.services.nara.configFiles.nara}") "a cross build runs the unchecked file";
  };
}
