# nara as one static-pie (Linux): linked against glibc's static libc, so it needs no
# dynamic loader and no glibc at run time, and the OCI image holds it, the CA bundle
# and an nsswitch.conf only. Host names resolve through glibc's built-in files and DNS
# lookups (/etc/hosts, /etc/resolv.conf, which a container runtime provides), in the
# order of the image's /etc/nsswitch.conf (files, then dns).
#
# What `make test` rehearses (`cargo xtask twin nara-static oracle-static`): the same
# cargo build, that `file` and `ldd` see a static binary with no `/nix/store/` in it,
# and the oracle against it with a broker found by the host name localhost. What only a
# Nix build shows: that nixpkgs' glibc.static links the same way, and that no store
# path is left in the binary (allowedReferences = [] fails the build if one is).
{
  lib,
  glibc,
  libidn2,
  removeReferencesTo,
  craneLib,
  crateArgs,
  nara,
}:
craneLib.buildPackage (crateArgs.static
  // {
    pname = "nara-static";
    doCheck = false;
    nativeBuildInputs = [removeReferencesTo];
    # glibc's static archive names its own locale and gconv folders, and its IDNA code
    # (inet/idna.c) the libidn2 it would dlopen, by the very `lib.getLib libidn2` that
    # nixpkgs' glibc builds with; nara reads none of them (it never asks getaddrinfo
    # for AI_IDN), and those strings would pull glibc, libidn2 and libunistring into the
    # closure and the image.
    postInstall = ''
      remove-references-to -t ${glibc} -t ${glibc.static} -t ${lib.getLib libidn2} "$out/bin/nara"
    '';
    # One file with nothing beside it: any store path left in the binary fails the
    # build instead of growing the image.
    allowedReferences = [];

    passthru = {inherit (nara) nara-web;};

    meta =
      nara.meta
      // {
        description = "nara as one static binary, with no dynamic loader and no glibc at run time";
        platforms = lib.platforms.linux;
      };
  })
