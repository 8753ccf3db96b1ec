# The systemd sandbox for nara's units. Plain Nix with no inputs, so `make test` can
# render it to a unit file and score it with `systemd-analyze security --offline=true`
# (target: exposure 1.5 or lower) without nixpkgs. nara needs only to listen on TCP,
# talk to an MQTT broker, and read its credentials.
{
  DynamicUser = true;
  CapabilityBoundingSet = "";
  AmbientCapabilities = "";
  NoNewPrivileges = true;
  UMask = "0077";

  ProtectSystem = "strict";
  ProtectHome = true;
  PrivateTmp = true;
  PrivateDevices = true;
  DevicePolicy = "closed";
  PrivateUsers = true;
  PrivateIPC = true;
  PrivateMounts = true;
  RemoveIPC = true;
  ProtectHostname = true;
  ProtectClock = true;
  ProtectKernelTunables = true;
  ProtectKernelModules = true;
  ProtectKernelLogs = true;
  ProtectControlGroups = true;
  ProtectProc = "invisible";
  ProcSubset = "pid";
  KeyringMode = "private";

  RestrictAddressFamilies = ["AF_INET" "AF_INET6" "AF_UNIX"];
  RestrictNamespaces = true;
  RestrictRealtime = true;
  RestrictSUIDSGID = true;
  LockPersonality = true;
  MemoryDenyWriteExecute = true;

  SystemCallArchitectures = "native";
  SystemCallFilter = ["@system-service" "~@privileged" "~@resources"];
  SystemCallErrorNumber = "EPERM";
}
