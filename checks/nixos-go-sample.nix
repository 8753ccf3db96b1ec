# A configuration written for the Go nara's NixOS module, as an operator moving a host
# over brings it: the broker as `mqttHost`, MQTT_USER and MQTT_PASS in an environment
# file, and instances with an inline soul, `httpAddr` and `publicUrl`, one with
# nothing set. checks/nixos-go-module.nix asserts that it gives the same naras.
{
  services.nara = {
    enable = true;
    mqttHost = "tcp://broker.lan:1883";
    environmentFile = "/run/secrets/nara.env";
    extraArgs = ["-serve-ui" "-verbose"];
    instances = {
      lily = {
        soul = "C8GnyXApZYSStetZTdEqvb4ZqBvqG9Ez1QF5jtb2PmpFMxkLrWQXJf2";
        httpAddr = ":8080";
        publicUrl = "https://lily.example.org";
        extraArgs = ["-read-only"];
      };
      rose.httpAddr = "127.0.0.1:8081";
      tulip = {};
    };
  };
}
