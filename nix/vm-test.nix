# A NixOS VM test: the server runs services.nara with the firewall opened for it, and
# the client runs the test oracle against it over the network.
{
  lib,
  testers,
  curl,
  nixosModule,
  nara,
}:
testers.runNixOSTest {
  name = "nara";
  nodes = {
    server = {
      imports = [nixosModule];
      services.nara = {
        enable = true;
        openFirewall = true;
        settings.name = "server";
      };
    };
    client = {
      environment.systemPackages = [curl];
    };
  };
  testScript = ''
    start_all()
    server.wait_for_unit("nara.service")
    server.wait_for_open_port(8080)
    client.wait_for_unit("multi-user.target")
    client.succeed("sh ${../checks/oracle.sh} ${lib.getExe nara} http://server:8080")
    server.succeed("systemctl stop nara.service")
    # journald may write the last line a moment after the unit has stopped.
    server.wait_until_succeeds("journalctl -u nara.service | grep -q 'stopped cleanly'", timeout=30)
  '';
}
