//! `cargo xtask nix-eval`: evaluates, with nixpkgs' `lib` only, the parts of the Nix
//! code that need nothing more, and asserts what they produce. Point NIXPKGS_LIB at a
//! nixpkgs checkout (or nix-community/nixpkgs.lib); without it this says so and fails.

use crate::nix_instantiate::evaluate;
use serde_json::Value;
use std::path::{Path, PathBuf};

pub fn run(root: &Path) -> Result<(), String> {
    let lib = lib_dir()?;
    let sources = evaluate(root, &sources_expression(root, &lib)?)?;
    check_sources(&sources)?;
    same_as_the_twins(root, &sources)?;
    let cases = evaluate(root, &nixos_module_expression(&lib))?;
    let cases = cases
        .as_object()
        .ok_or("checks/nixos-cases.nix did not evaluate to a set of cases")?;
    let mut failures = Vec::new();
    for (case, failed) in cases {
        let failed = strings(failed);
        if failed.is_empty() {
            eprintln!("nix-eval: services.nara makes of the case {case} what checks/nixos-cases.nix expects");
        }
        failures.extend(failed.iter().map(|f| format!("{case}: {f}")));
    }
    none_of(failures, "modules/nixos.nix with checks/nixos-cases.nix")?;
    none_of(
        strings(&evaluate(root, &home_manager_expression(&lib))?),
        "modules/home-manager.nix",
    )?;
    eprintln!("nix-eval: the Home Manager module makes a systemd user unit on Linux and a launchd agent on macOS");
    none_of(
        strings(&evaluate(root, &derivations_expression(&lib))?),
        "nix/ derivations",
    )?;
    eprintln!(
        "nix-eval: nara, nara-static and the checks get the arguments they need, natively and for pkgsCross.aarch64-multiplatform"
    );
    eprintln!(
        "nix-eval: source filesets evaluated with {} and hold what each derivation reads",
        lib.display()
    );
    Ok(())
}

/// A list of strings (an evaluation's failures), or none.
fn strings(list: &Value) -> Vec<String> {
    let items = list.as_array().into_iter().flatten();
    items.filter_map(Value::as_str).map(String::from).collect()
}

/// An error naming `what` when there are failures.
fn none_of(failures: Vec<String>, what: &str) -> Result<(), String> {
    match failures.is_empty() {
        true => Ok(()),
        false => Err(format!("{what}:\n  {}", failures.join("\n  "))),
    }
}

/// `NIXPKGS_LIB` may name the `lib` directory or the tree that contains it.
fn lib_dir() -> Result<PathBuf, String> {
    let given = std::env::var_os("NIXPKGS_LIB")
        .map(PathBuf::from)
        .ok_or("NIXPKGS_LIB is not set; point it at a nixpkgs (or nixpkgs.lib) checkout")?;
    for candidate in [given.join("lib"), given.clone()] {
        if candidate.join("fileset/default.nix").is_file() {
            return Ok(candidate);
        }
    }
    Err(format!(
        "NIXPKGS_LIB={} holds no lib/fileset/default.nix",
        given.display()
    ))
}

/// Debian's Nix (2.8) predates `builtins.readFileType`, which current nixpkgs lib calls;
/// this `import` re-imports every file with that builtin polyfilled from `readDir`.
const COMPAT_IMPORT: &str = r#"
  polyfills = {
    readFileType = path: (builtins.readDir (dirOf path)).${baseNameOf path}
      or (throw "readFileType: ${toString path} does not exist");
  };
  patched = builtins // (if builtins ? readFileType then {} else polyfills) // {inherit import;};
  import = path: scopedImport {builtins = patched; inherit import;} path;"#;

/// nix/sources.nix with crane's `fileset.commonCargoSources` stood in for by the same
/// union crane defines (Cargo.toml/Cargo.lock, *.rs, *.toml), limited to what git
/// tracks (as a flake's source is), listed relative to the root.
fn sources_expression(root: &Path, lib: &Path) -> Result<String, String> {
    let tracked = crate::fileset::tracked_files(root)?;
    let tracked = serde_json::to_string(&tracked).map_err(|e| e.to_string())?;
    Ok(format!(
        r#"let{COMPAT_IMPORT}
  lib = import {lib};
  root = {root};
  craneLib.fileset.commonCargoSources = path:
    lib.fileset.fileFilter (f: f.hasExt "rs" || f.hasExt "toml" || f.name == "Cargo.toml" || f.name == "Cargo.lock") path;
  sources = import ./nix/sources.nix {{ inherit lib craneLib; }};
  tracked = lib.fileset.unions (map (f: root + "/${{f}}") (builtins.fromJSON {tracked:?}));
  relative = set: map (p: lib.removePrefix "${{toString root}}/" (toString p)) (lib.fileset.toList (lib.fileset.intersection tracked set));
in lib.mapAttrs (_: relative) sources.filesets"#,
        lib = lib.display(),
        root = root.display(),
    ))
}

/// lib.fileset and `cargo xtask twin` must read nix/filesets.nix alike: the same files
/// in every set, or the twins would test another source than the flake builds.
fn same_as_the_twins(root: &Path, sets: &Value) -> Result<(), String> {
    for name in crate::fileset::names(root)? {
        let mut from_lib: Vec<&str> = sets[&name]
            .as_array()
            .map(|files| files.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        from_lib.sort_unstable();
        let from_twin = crate::fileset::files(root, &name)?;
        if from_lib != from_twin {
            let only_lib: Vec<&&str> = from_lib
                .iter()
                .filter(|f| !from_twin.iter().any(|t| t == **f))
                .collect();
            let only_twin: Vec<&String> = from_twin.iter().filter(|t| !from_lib.contains(&t.as_str())).collect();
            return Err(format!(
                "the {name} file set differs: only lib.fileset has {only_lib:?}, only the twins have {only_twin:?}"
            ));
        }
    }
    eprintln!("nix-eval: lib.fileset and the twins hold the same files in every set of nix/filesets.nix");
    Ok(())
}

/// Stand-ins for the parts of `pkgs` the modules use: the build and host platforms
/// (a build machine runs only its own system here), `formats.toml`, `runCommandLocal`
/// and `writeText` (whose outputs are never built here) and the nara package.
const PKGS_STAND_IN: &str = r#"
  pkgsFor = { isLinux ? true, build ? "x86_64-linux", host ? build }: let
    platform = system: {
      inherit system isLinux;
      isDarwin = !isLinux;
      canExecute = other: other.system == system;
    };
  in {
    stdenv.hostPlatform = platform host;
    stdenv.buildPlatform = platform build;
    # The derivation's name and script, as nixpkgs' runCommandLocal passes them through.
    runCommandLocal = name: _env: buildCommand: {
      type = "derivation";
      inherit name buildCommand;
      outPath = "/nix/store/00000000000000000000000000000000-${name}";
    };
    writeText = name: _text: {
      type = "derivation";
      inherit name;
      outPath = "/nix/store/00000000000000000000000000000000-${name}";
    };
    formats.toml = {}: {
      type = types.attrsOf types.anything;
      generate = name: _value: "/nix/store/00000000000000000000000000000000-${name}";
    };
    nara = {
      type = "derivation";
      name = "nara";
      outPath = "/nix/store/00000000000000000000000000000000-nara";
      meta.mainProgram = "nara";
    };
  };"#;

/// modules/nixos.nix evaluated with each case of checks/nixos-cases.nix through
/// `lib.evalModules`, with stand-ins for what NixOS itself declares (systemd.services,
/// the firewall, assertions, warnings, the platforms `pkgs` is built for) and for
/// `pkgs`; the result is each case's list of failures, by case. As in a real system,
/// NixOS has a warning of its own, which no case may mistake for nara's.
fn nixos_module_expression(lib: &Path) -> String {
    format!(
        r#"let{COMPAT_IMPORT}
  lib = import {lib};
  inherit (lib) mkOption types;{PKGS_STAND_IN}
  # NixOS's `utils`; the flake's module-eval check runs the real one.
  utils.escapeSystemdExecArgs = import ./modules/systemd-escape.nix {{ inherit lib; }};
  nixosStandIns = {{ config, ... }}: {{
    options = {{
      assertions = mkOption {{ type = types.listOf types.anything; default = []; }};
      warnings = mkOption {{ type = types.listOf types.str; default = []; }};
      systemd.services = mkOption {{ type = types.attrsOf types.anything; default = {{}}; }};
      networking.firewall.allowedTCPPorts = mkOption {{ type = types.listOf types.port; default = []; }};
      nixpkgs.hostPlatform = mkOption {{ type = types.str; default = "x86_64-linux"; }};
      nixpkgs.buildPlatform = mkOption {{ type = types.str; default = config.nixpkgs.hostPlatform; }};
    }};
    config = {{
      warnings = [ "a warning of NixOS's own, as a real system may have" ];
      _module.args = {{
        inherit utils;
        pkgs = pkgsFor {{ build = config.nixpkgs.buildPlatform; host = config.nixpkgs.hostPlatform; }};
      }};
    }};
  }};
  failuresOf = _name: case: let
    evaluated = lib.evalModules {{ modules = [ nixosStandIns ./modules/nixos.nix case.configuration ]; }};
    failedAssertions = map (a: a.message) (lib.filter (a: !a.assertion) evaluated.config.assertions);
  in lib.optionals (!(case.failingAssertions or false)) failedAssertions
    ++ case.expect {{ inherit lib failedAssertions; inherit (evaluated) config options; }};
in lib.mapAttrs failuresOf (import ./checks/nixos-cases.nix {{ inherit lib; }})"#,
        lib = lib.display(),
    )
}

/// modules/home-manager.nix evaluated for Linux and for macOS, with stand-ins for the
/// Home Manager options it sets; the result is checks/home-manager-module.nix's failures.
/// A user service follows Home Manager's own declaration (modules/systemd.nix): free-form
/// sections of primitives and lists, and `ExecStart` a string or list, applied through
/// `lib.toList`, so the check sees what the real option gives.
fn home_manager_expression(lib: &Path) -> String {
    format!(
        r#"let{COMPAT_IMPORT}
  lib = import {lib};
  inherit (lib) mkOption types;{PKGS_STAND_IN}
  primitive = types.oneOf [ types.bool types.int types.str types.path ];
  userService = types.submodule {{
    freeformType = types.attrsOf (types.attrsOf (types.either primitive (types.listOf primitive)));
    options.Unit.Description = mkOption {{ type = types.nullOr types.str; default = null; }};
    options.Unit.Documentation = mkOption {{ type = types.coercedTo types.str lib.toList (types.listOf types.str); default = []; }};
    options.Service.Environment = mkOption {{ type = types.coercedTo types.str lib.toList (types.listOf types.str); default = []; }};
    options.Service.ExecStart = mkOption {{
      type = let command = types.either types.package types.str; in types.either command (types.listOf command);
      apply = lib.toList;
      default = [];
    }};
  }};
  standIns = {{
    options = {{
      systemd.user.services = mkOption {{ type = types.attrsOf userService; default = {{}}; }};
      launchd.agents = mkOption {{ type = types.attrsOf types.anything; default = {{}}; }};
      home.homeDirectory = mkOption {{ type = types.str; default = "/home/me"; }};
      assertions = mkOption {{ type = types.listOf types.anything; default = []; }};
    }};
  }};
  user = {{
    services.nara = {{
      enable = true;
      soulFile = "/home/me/.config/nara/soul";
      settings.name = "laptop";
      extraArgs = [ "--mqtt-user" "me%h$HOME" ];
    }};
  }};
  # macOS also turns the build-time check off, as a cross build would; the cross
  # build forces it on, which the module must refuse.
  evaluate = platform: extra: (lib.evalModules {{
    modules = [ standIns ./modules/home-manager.nix user {{ _module.args.pkgs = pkgsFor platform; }} ] ++ extra;
  }}).config;
in import ./checks/home-manager-module.nix {{
  inherit lib;
  linux = evaluate {{ isLinux = true; }} [];
  darwin = evaluate {{ isLinux = false; }} [ {{ services.nara.checkConfig = false; }} ];
  cross = evaluate {{ build = "x86_64-linux"; host = "aarch64-linux"; }} [ {{ services.nara.checkConfig = true; }} ];
}}"#,
        lib = lib.display(),
    )
}

/// nix/crate-args.nix, nix/nara.nix, nix/nara-static.nix, nix/checks.nix and
/// nix/devshell.nix with crane's builders stood in for by functions that return what
/// they are given, and each tool of nix/commands.toml by a stub named by its nixpkgs
/// attribute, for an x86_64-linux host and for pkgsCross.aarch64-multiplatform
/// (platforms elaborated by nixpkgs' own lib.systems): what each derivation is asked to
/// build, with which tools, and for whom.
/// Whether crane and rust-overlay then build it is for a Nix machine to show.
fn derivations_expression(lib: &Path) -> String {
    format!(
        r#"let{COMPAT_IMPORT}
  lib = import {lib};
  build = lib.systems.elaborate "x86_64-linux";
  hosts = {{
    x86_64-linux = build;
    aarch64-multiplatform = lib.systems.elaborate lib.systems.examples.aarch64-multiplatform;
  }};
  stub = name: {{ type = "derivation"; inherit name; outPath = "/nix/store/00000000000000000000000000000000-${{name}}"; }};
  craneLib = {{
    buildDepsOnly = args: stub "deps" // {{ inherit args; }};
    buildPackage = args: stub (args.pname or "nara") // args // {{ version = "0.0.0"; }};
    cargoClippy = args: args;
    cargoNextest = args: args;
    cargoFmt = args: args;
    cargoDoc = args: args;
    cargoAudit = args: args;
  }};
  glibc = stub "glibc" // {{ static = stub "glibc-static"; }};
  libidn2 = stub "libidn2";
  commands = lib.importTOML ./nix/commands.toml;
  tools = lib.filter (tool: tool ? nixpkgs) (lib.attrValues commands.tools);
  # Each tool of the table as a stub named by its nixpkgs attribute, where the table says.
  buildPackages = lib.foldl' lib.recursiveUpdate {{}} (map (tool: lib.setAttrByPath (lib.splitString "." tool.nixpkgs) (stub tool.nixpkgs)) tools);
  names = packages: lib.sort lib.lessThan (map (p: p.name) packages);
  # What nix/commands.toml gives a check's derivation: the tools naming it, less crane's own.
  toolsOf = check: names (map (tool: stub tool.nixpkgs) (lib.filter (tool: lib.elem check (tool.checks or []) && !(tool.crane or false)) tools));
  expect = ok: message: lib.optional (!ok) message;
  onDarwin = names (import ./nix/tools.nix {{ inherit lib buildPackages; stdenv.hostPlatform = lib.systems.elaborate "aarch64-darwin"; }}).all;
  failuresFor = hostName: hostPlatform: let
    stdenv = {{ inherit hostPlatform; buildPlatform = build; }};
    crateArgs = import ./nix/crate-args.nix {{
      inherit lib stdenv glibc craneLib;
      sources.rust = stub "source";
      nara-web = stub "nara-web";
      revision = "000000000000";
    }};
    nara = import ./nix/nara.nix {{ inherit lib craneLib crateArgs; nara-web = stub "nara-web"; }};
    nara-static = import ./nix/nara-static.nix {{ inherit lib glibc libidn2 craneLib crateArgs nara; removeReferencesTo = stub "remove-references-to"; }};
    checks = import ./nix/checks.nix ({{
      inherit lib stdenv craneLib crateArgs nara nara-static buildPackages;
      runCommand = name: env: _script: stub name // env;
      sources = {{ rust = stub "source"; tests = stub "tests"; audit = stub "audit"; nix = stub "nix"; web-unit = stub "web-unit"; alert-rules = stub "alert-rules"; }};
      advisory-db = stub "advisory-db";
    }} // lib.genAttrs [ "nara-web" "oci" "module-eval" "vm-test" ] stub);
    devShell = import ./nix/devshell.nix {{ inherit lib stdenv buildPackages checks; craneLib.devShell = args: args; }};
    # nix/web.nix gives nara-web its own tools.
    checked = lib.remove "nara-web" (lib.unique (lib.concatMap (tool: tool.checks or []) (lib.attrValues commands.tools)));
    target = hostPlatform.rust.rustcTarget;
    flags = "CARGO_TARGET_${{hostPlatform.rust.cargoEnvVarTarget}}_RUSTFLAGS";
    static = crateArgs.static;
    says = what: "${{hostName}}: ${{what}}";
  in
    expect (target == "${{hostPlatform.parsed.cpu.name}}-unknown-linux-gnu") (says "the static build targets glibc, got ${{target}}")
    ++ expect (nara-static.CARGO_BUILD_TARGET or null == target) (says "nara-static is built for ${{target}}, got ${{nara-static.CARGO_BUILD_TARGET or "none"}}")
    ++ expect (nara-static.${{flags}} or null == "-C target-feature=+crt-static") (says "nara-static sets ${{flags}} to +crt-static")
    ++ expect (static.cargoArtifacts.args.CARGO_BUILD_TARGET or null == target && static.cargoArtifacts.args.${{flags}} or null == "-C target-feature=+crt-static") (says "nara-static's dependency layer is built the same way, so it is reused")
    ++ expect (static.cargoArtifacts.args.CARGO_PROFILE == "release" && nara-static.CARGO_PROFILE == "release") (says "nara-static is the release profile")
    ++ expect (lib.elem glibc.static (nara-static.buildInputs or [])) (says "nara-static links glibc's static libc")
    ++ expect (nara-static.allowedReferences or null == []) (says "nothing may be left in nara-static's closure (allowedReferences = [])")
    ++ expect (lib.all (path: lib.hasInfix "-t ${{path}}" (nara-static.postInstall or "")) [ glibc.outPath glibc.static.outPath libidn2.outPath ]) (says "nara-static strips the store paths of glibc and of the libidn2 glibc names")
    ++ expect (!(nara ? CARGO_BUILD_TARGET) && !(lib.any (lib.hasSuffix "_RUSTFLAGS") (lib.attrNames nara))) (says "nara itself stays the ordinary dynamic build")
    ++ expect (lib.meta.availableOn hostPlatform nara && lib.meta.availableOn hostPlatform nara-static) (says "nara and nara-static are available on ${{hostPlatform.system}}")
    ++ expect (!(lib.meta.availableOn (lib.systems.elaborate "aarch64-darwin") nara-static)) (says "nara-static is Linux only")
    ++ expect (nara-static.meta.mainProgram == "nara") (says "nara-static's program is nara")
    ++ expect (checks.clippy.doInstallCargoArtifacts == false && checks.nextest.doInstallCargoArtifacts == false) (says "clippy and nextest install no target/ for the binary cache")
    ++ expect (checks ? oracle-static && checks ? nara-static) (says "the checks build nara-static and run the oracle against it")
    ++ expect (checks ? web-unit) (says "the page's unit tests are a check")
    ++ expect (checks ? alert-rules) (says "the shipped alert rules' tests are a check")
    ++ lib.concatMap (name: let
        given = removeAttrs commands.${{name}} [ "env" ];
      in expect (lib.all (argument: checks.${{name}}.${{argument}} or null == lib.concatStringsSep " " given.${{argument}}) (lib.attrNames given))
        (says "crane's ${{name}} gets each list of nix/commands.toml as its argument of that name"))
      [ "fmt" "clippy" "doc" "nextest" "audit" ]
    ++ expect (checks.doc.env.RUSTDOCFLAGS or null == commands.doc.env.RUSTDOCFLAGS) (says "the doc check sets nix/commands.toml's RUSTDOCFLAGS")
    ++ lib.concatMap (check: expect (checks ? ${{check}} && names (checks.${{check}}.nativeBuildInputs or []) == toolsOf check)
        (says "checks.${{check}} has the tools nix/commands.toml names for it, got ${{toString (names (checks.${{check}}.nativeBuildInputs or []))}}"))
      checked
    ++ expect (lib.elem "prometheus.cli" (toolsOf "nextest") && lib.elem "util-linux" (toolsOf "nextest") && !(lib.elem "cargo-nextest" (toolsOf "nextest")))
      (says "the tests get promtool and util-linux from the table, and cargo-nextest from crane alone")
    ++ expect (names devShell.packages == names (map (tool: stub tool.nixpkgs) tools)) (says "nix develop has every tool of nix/commands.toml that Nix has");
in lib.concatLists (lib.mapAttrsToList failuresFor hosts)
  ++ expect (lib.elem "mosquitto" onDarwin && !(lib.elem "systemd" onDarwin) && !(lib.elem "wrk" onDarwin)) "nix/tools.nix leaves the Linux-only tools out on macOS""#,
        lib = lib.display(),
    )
}

fn check_sources(sets: &Value) -> Result<(), String> {
    let has = |set: &str, file: &str| {
        sets[set]
            .as_array()
            .is_some_and(|files| files.iter().any(|f| f == file))
    };
    let mut problems = Vec::new();
    let mut expect = |set: &str, file: &str, wanted: bool| {
        if has(set, file) != wanted {
            let verb = if wanted { "lacks" } else { "must not contain" };
            problems.push(format!("the {set} source {verb} {file}"));
        }
    };
    for file in [
        "Cargo.toml",
        "Cargo.lock",
        "build.rs",
        "rust-toolchain.toml",
        ".cargo/config.toml",
        "src/main.rs",
        "tests/cli/main.rs",
    ] {
        expect("rust", file, true);
        expect("tests", file, true);
    }
    for file in [
        "web/src/App.jsx",
        "web/package-lock.json",
        "docs/book.toml",
        "docs/src/SUMMARY.md",
        "xtask/src/main.rs",
        "fuzz/fuzz_targets/plaza_message.rs",
        "README.md",
        "fly.toml",
        "nixpacks.toml",
        "statix.toml",
        ".cargo/audit.toml",
        "nix/commands.toml",
    ] {
        expect("rust", file, false);
    }
    // What the tests read beside the crate.
    for file in [
        "checks/oracle.sh",
        "checks/oci-config.sh",
        "checks/sample-settings.json",
        "docs/src/configuration.md",
        "modules/nixos.nix",
        "deploy/prometheus/nara-rules.yml",
        "deploy/prometheus/nara-rules.test.yml",
    ] {
        expect("tests", file, true);
    }
    for file in ["Cargo.lock", ".cargo/audit.toml"] {
        expect("audit", file, true);
    }
    for file in [
        "web/src/App.jsx",
        "web/package-lock.json",
        "web/build.mjs",
        "docs/book.toml",
        "docs/src/SUMMARY.md",
    ] {
        expect("web", file, true);
    }
    for file in ["src/main.rs", "Cargo.lock", "README.md"] {
        expect("web", file, false);
    }
    for file in ["web/package.json", "web/src/rollout.js", "web/test/rollout.test.mjs"] {
        expect("web-unit", file, true);
    }
    for file in ["web/package-lock.json", "web/build.mjs", "src/main.rs"] {
        expect("web-unit", file, false);
    }
    for file in [
        "deploy/prometheus/nara-rules.yml",
        "deploy/prometheus/nara-rules.test.yml",
    ] {
        expect("alert-rules", file, true);
    }
    for file in ["src/main.rs", "deploy/kubernetes/deployment.yaml"] {
        expect("alert-rules", file, false);
    }
    for file in ["flake.nix", "nix/scope.nix", "statix.toml"] {
        expect("nix", file, true);
    }
    none_of(problems, "the source file sets")
}
