# nara-web: the SPA and the book, precompressed, exactly as `make web` builds them.
# npm packages come from package-lock.json (resolved URL + integrity) via importNpmLock,
# so there is no dependency hash to refresh by hand.
{
  lib,
  stdenv,
  nodejs,
  mdbook,
  importNpmLock,
  sources,
}:
stdenv.mkDerivation {
  pname = "nara-web";
  inherit ((lib.importTOML ../Cargo.toml).package) version;
  src = sources.web;

  npmDeps = importNpmLock {
    package = lib.importJSON ../web/package.json;
    packageLock = lib.importJSON ../web/package-lock.json;
  };
  npmRoot = "web";
  nativeBuildInputs = [nodejs mdbook importNpmLock.npmConfigHook];

  buildPhase = ''
    runHook preBuild
    node web/build.mjs --out "$PWD/web/dist"
    runHook postBuild
  '';

  installPhase = ''
    runHook preInstall
    cp -r web/dist "$out"
    runHook postInstall
  '';

  meta = {
    description = "nara's embedded web bundle: the SPA at the root, the book under docs/";
    license = lib.licenses.mit;
  };
}
