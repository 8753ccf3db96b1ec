# The compiled dependencies, built once and reused by the package and every check.
# It sees neither the web bundle nor the revision, so neither invalidates it.
{
  craneLib,
  sources,
}:
craneLib.buildDepsOnly {
  src = sources.rust;
  strictDeps = true;
}
