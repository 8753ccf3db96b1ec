# The OCI image (Linux): the static nara (nix/nara-static.nix), the CA bundle and an
# /etc/nsswitch.conf only, so no dynamic loader, no glibc and no shell; it runs as
# nobody, logs JSON, has a healthcheck through `nara healthcheck`, and is tagged
# <version>-<revision>.
{
  lib,
  dockerTools,
  writeTextDir,
  nara-static,
  revision,
}: let
  defaults = import ../modules/defaults.nix;
  port = toString defaults.port;
  nara = nara-static;
  # Without this file glibc looks host names up as `dns [!UNAVAIL=return] files`: a
  # name DNS does not know never reaches /etc/hosts, where `docker run --add-host`,
  # Kubernetes' hostAliases and a sidecar's `localhost` live. The line dockerTools'
  # fakeNss writes, without its passwd and group, which nara never reads.
  nsswitch = writeTextDir "etc/nsswitch.conf" "hosts: files dns\n";
in
  dockerTools.buildLayeredImage {
    name = "nara";
    tag = "${nara.version}-${revision}";
    contents = [dockerTools.caCertificates nsswitch];
    config = {
      Entrypoint = [(lib.getExe nara)];
      User = "65534:65534";
      StopSignal = "SIGTERM";
      ExposedPorts = {"${port}/tcp" = {};};
      Env = [
        "NARA_HTTP_ADDR=:${port}"
        "NARA_LOG_FORMAT=json"
        "SSL_CERT_FILE=/etc/ssl/certs/ca-bundle.crt"
      ];
      Healthcheck = {
        Test = ["CMD" (lib.getExe nara) "healthcheck"];
        # Docker reads these in nanoseconds.
        Interval = 10 * 1000000000;
        Timeout = 3 * 1000000000;
        StartPeriod = 5 * 1000000000;
        Retries = 3;
      };
      # No source label: the repository is wherever a copy lives (the docs name it
      # github:OWNER/nara, a placeholder), and the Go nara's is not where this image
      # comes from.
      Labels = {
        "org.opencontainers.image.title" = "nara";
        "org.opencontainers.image.description" = nara.meta.description;
        "org.opencontainers.image.revision" = revision;
        "org.opencontainers.image.version" = nara.version;
        "org.opencontainers.image.licenses" = "MIT";
      };
    };
  }
