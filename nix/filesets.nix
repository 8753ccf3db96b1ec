# Which files each derivation sees, as plain data with no inputs, relative to the
# repository root. nix/sources.nix turns each set into a lib.fileset; `cargo xtask twin`
# copies the same files out of git for the offline twins `make test` runs, so a test
# that reads a file its check's source lacks fails there first.
#
# A set is the union of: crane's fileset.commonCargoSources (`cargoSources`: every
# Cargo.toml, Cargo.lock, *.rs and *.toml), every file with one of `extensions`, the
# files and folders in `include`, and the sets named in `extends`; less `exclude`.
{
  # The crate: what cargo reads to build nara. Neither the web UI nor the book is here
  # (nara embeds the bundle built from them, NARA_WEB_DIST), nor TOML that cargo never
  # reads, so editing a deployment file does not rebuild the crate.
  rust = {
    cargoSources = true;
    exclude = [
      "docs"
      "xtask"
      "fuzz"
      "web"
      "fly.toml"
      "nixpacks.toml"
      "statix.toml"
      ".cargo/audit.toml"
      # The checks' command table: read while Nix evaluates, never by cargo.
      "nix/commands.toml"
    ];
  };

  # The crate plus what its tests read: the scripts they run, the book chapters and
  # modules they hold the code against.
  tests = {
    extends = ["rust"];
    include = [
      "checks/oracle.sh"
      "checks/oci-config.sh"
      "checks/sample-settings.json"
      "docs/src"
      "modules"
      # The deploy recipes and the README's demo, which the tests run as written, and
      # the alert rules the Operations chapter loads, with their unit tests.
      "fly.toml"
      "deploy/kubernetes"
      "deploy/prometheus"
      "README.md"
    ];
  };

  # What `cargo audit` reads (crane's cargoAudit narrows it to these again).
  audit = {
    include = ["Cargo.lock" ".cargo/audit.toml"];
  };

  # What web/build.mjs reads: the SPA sources, its npm lock, and the book.
  web = {
    include = [
      "web/package.json"
      "web/package-lock.json"
      "web/build.mjs"
      "web/sources-hash.mjs"
      "web/bundle-inputs.txt"
      "web/index.html"
      "web/src"
      "web/public"
      "docs/book.toml"
      "docs/src"
    ];
  };

  # What the page's unit tests (web/test/) import: the modules under test, and the
  # package.json that makes node read web/src/*.js as ES modules.
  web-unit = {
    include = [
      "web/package.json"
      "web/src"
      "web/test"
    ];
  };

  # The shipped Prometheus alert rules and their unit tests.
  alert-rules = {
    include = ["deploy/prometheus"];
  };

  # Every Nix file and the linters' configuration.
  nix = {
    extensions = ["nix"];
    include = ["statix.toml"];
  };
}
