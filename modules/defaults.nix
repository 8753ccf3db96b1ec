# What every deployment of nara agrees on: the port, the health and metrics paths, the
# shutdown grace. Plain Nix with no inputs, read by the NixOS and Home Manager modules
# and the OCI image; `cargo xtask deploy-check` holds fly.toml, nixpacks.toml, the
# Kubernetes manifests and nara's own defaults to the same values.
{
  port = 8080;
  livenessPath = "/health/live";
  readinessPath = "/health/ready";
  metricsPath = "/metrics";
  # nara's --shutdown-grace default; supervisors must wait longer than this.
  shutdownGraceSeconds = 10;
  # What supervisors wait before killing: the grace plus time to say chau.
  stopTimeoutSeconds = 15;
  # Open files (each connection is one): units set this; nara raises its soft limit to
  # the hard one at start, so it holds about this many connections.
  openFiles = 65536;
}
