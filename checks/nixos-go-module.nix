# What services.nara must make of checks/nixos-go-sample.nix, a configuration written
# for the Go nara's module: the naras that module ran (one unit per instance, named
# after it, no other), each on the port of its httpAddr, the broker from mqttHost, the
# inline soul as a credential, and a warning for each thing the Go module got wrong.
# A list of failures, empty when all is well.
{
  lib,
  config,
  options,
  ...
}: let
  inherit (config.systemd) services;
  settings = config.services.nara.effectiveSettings;
  expect = ok: message: lib.optional (!ok) message;
  command = unit: lib.replaceStrings ["\""] [""] services.${unit}.serviceConfig.ExecStart;
  naraUnits = lib.filter (lib.hasPrefix "nara") (lib.attrNames services);
  lily = services.nara-lily.serviceConfig;
  warned = needles: lib.any (w: lib.all (n: lib.hasInfix n w) needles) config.warnings;
  # The options an instance declares, as an options manual lists them.
  instanceOptions = options.services.nara.instances.type.getSubOptions ["services" "nara" "instances" "<name>"];
  documentedAsString = name: instanceOptions.${name}.type.description == "null or string";
in
  expect (naraUnits == ["nara-lily" "nara-rose" "nara-tulip"]) "the units are the instances and no other (as the Go module ran them), got ${toString naraUnits}"
  ++ expect (settings.nara-lily.name == "lily" && settings.nara-rose.name == "rose") "each instance is the nara named after it"
  ++ expect (settings.nara-lily.http_addr == ":8080" && settings.nara-rose.http_addr == "127.0.0.1:8081") "httpAddr is each instance's address, got ${settings.nara-lily.http_addr} and ${settings.nara-rose.http_addr}"
  ++ expect (settings.nara-tulip.http_addr == "127.0.0.1:0") "an instance with no address listens on a free loopback port, got ${settings.nara-tulip.http_addr}"
  ++ expect (settings.nara-lily.public_url == "https://lily.example.org") "publicUrl is the instance's public_url"
  ++ expect (lib.all (unit: settings.${unit}.mqtt_url == "tcp://broker.lan:1883") naraUnits) "mqttHost is every unit's mqtt_url"
  ++ expect (lib.all (unit: services.${unit}.serviceConfig.EnvironmentFile == ["/run/secrets/nara.env"]) naraUnits) "every unit reads the environment file (MQTT_USER, MQTT_PASS)"
  ++ expect (lib.length lily.LoadCredential == 1 && lib.hasPrefix "soul:/nix/store/" (lib.head lily.LoadCredential) && lib.hasSuffix "-nara-lily-soul" (lib.head lily.LoadCredential)) "the inline soul reaches nara-lily as the credential soul, got ${builtins.toJSON lily.LoadCredential}"
  ++ expect (!(lib.hasInfix "C8GnyXApZYSS" (lib.concatMapStrings command naraUnits))) "the soul is on no command line"
  ++ expect (lib.hasSuffix "-serve-ui -verbose -read-only" (command "nara-lily")) "shared then own extraArgs, the Go flags as written, got ${command "nara-lily"}"
  ++ expect (lib.hasInfix (lib.escapeShellArgs ["-serve-ui" "-verbose" "-read-only"]) config.services.nara.configFiles.nara-lily.buildCommand) "the build-time check sees the Go flags"
  ++ expect (config.networking.firewall.allowedTCPPorts == []) "no port opened: the Go module opened none"
  ++ expect (config.services.nara.instances.rose.port == null && config.services.nara.instances.rose.settings.http_addr == "127.0.0.1:8081") "httpAddr is an alias of settings.http_addr"
  ++ expect (warned ["services.nara.instances.lily.soul" "soulFile" "binary cache"]) "an inline soul warns, names soulFile and the binary caches it reaches, got ${builtins.toJSON config.warnings}"
  ++ expect (warned ["services.nara.instances.tulip" "no port"]) "an instance with no port warns"
  ++ expect (!(warned ["services.nara.instances.rose"])) "an instance with an httpAddr does not warn"
  ++ expect (documentedAsString "httpAddr" && documentedAsString "publicUrl") "httpAddr and publicUrl are documented as strings, got ${instanceOptions.httpAddr.type.description} and ${instanceOptions.publicUrl.type.description}"
