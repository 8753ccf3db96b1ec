# What every crane derivation of the crate shares: the filtered source, the dependency
# layer, and the environment build.rs reads (the bundle to embed, the git revision).
{
  sources,
  cargoArtifacts,
  nara-web,
  revision,
}: {
  src = sources.rust;
  strictDeps = true;
  inherit cargoArtifacts;
  env = {
    NARA_WEB_DIST = "${nara-web}";
    NARA_GIT_REVISION = revision;
  };
}
