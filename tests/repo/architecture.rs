//! The house rules of `src/`, checked on the source: the rooms depend one way, no file
//! imports another that imports it back (directly or around a loop), and settings live
//! in one room: environment variable names are written only where `config/` declares
//! them, and the plaza and the HTTP half import no configuration machinery. The
//! Architecture chapter's tree names every file.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const SRC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src");

/// Every `.rs` file under `src/`, by module path (`http::server`, `plaza`, `lib`).
fn modules() -> BTreeMap<String, String> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("src/ is readable") {
            let path = entry.expect("src/ lists").path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(Path::new(SRC), &mut files);
    files
        .into_iter()
        .map(|path| {
            let relative = path.strip_prefix(SRC).expect("under src/").with_extension("");
            let mut parts: Vec<String> = relative.iter().map(|p| p.to_string_lossy().into_owned()).collect();
            if parts.last().is_some_and(|p| p == "mod") {
                parts.pop();
            }
            (
                parts.join("::"),
                std::fs::read_to_string(&path).expect("a source file is readable"),
            )
        })
        .collect()
}

/// The source without comments and without its `#[cfg(test)] mod tests` (tests may
/// reach anywhere).
fn code_of(source: &str) -> String {
    let source = source.split("#[cfg(test)]\nmod tests").next().unwrap_or(source);
    source
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The modules `module` names through `crate::` or `super::` paths (in `use` lines and
/// inline), resolved to the longest module path that exists.
fn imports(module: &str, source: &str, known: &BTreeSet<String>) -> BTreeSet<String> {
    let code = code_of(source);
    // `super` is the module this one is declared in.
    let mut parent: Vec<&str> = module.split("::").collect();
    parent.pop();
    let mut found = BTreeSet::new();
    let tokens = code.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':' || c == '{'));
    for token in tokens {
        let path: Vec<String> = if let Some(rest) = token.strip_prefix("crate::") {
            rest.split("::").map(String::from).collect()
        } else if let Some(rest) = token.strip_prefix("super::") {
            let mut base: Vec<String> = parent.iter().map(|s| s.to_string()).collect();
            base.extend(rest.split("::").map(String::from));
            base
        } else {
            continue;
        };
        let path: Vec<String> = path.into_iter().map(|p| p.trim_end_matches('{').to_string()).collect();
        let target = (1..=path.len())
            .rev()
            .map(|n| path[..n].join("::"))
            .find(|candidate| known.contains(candidate));
        if let Some(target) = target
            && target != module
        {
            found.insert(target);
        }
    }
    found
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let modules = modules();
    let known: BTreeSet<String> = modules.keys().cloned().collect();
    modules
        .iter()
        .map(|(module, source)| (module.clone(), imports(module, source, &known)))
        .collect()
}

fn room(module: &str) -> &str {
    module.split("::").next().unwrap_or(module)
}

#[test]
fn the_graph_sees_the_imports_it_must() {
    let graph = graph();
    assert!(graph["nara"].contains("plaza"), "{:?}", graph["nara"]);
    assert!(
        graph["http::server"].contains("http::routes"),
        "{:?}",
        graph["http::server"]
    );
    assert!(
        graph["plaza::event"].contains("plaza::identity"),
        "{:?}",
        graph["plaza::event"]
    );
}

#[test]
fn the_plaza_names_neither_the_configuration_nor_the_http_half() {
    // `config` holds the declarations and the machinery that resolves them
    // (`config::layering`); the plaza takes only its typed `plaza::config`.
    let offenders: Vec<String> = graph()
        .into_iter()
        .filter(|(module, _)| room(module) == "plaza")
        .flat_map(|(module, imports)| {
            imports
                .into_iter()
                .filter(|i| matches!(room(i), "config" | "http" | "nara"))
                .map(move |i| format!("{module} -> {i}"))
        })
        .collect();
    assert!(offenders.is_empty(), "{offenders:?}");
}

#[test]
fn rooms_depend_one_way() {
    // Each room may use only the rooms below it.
    let below: BTreeMap<&str, &[&str]> = BTreeMap::from([
        ("nara", &["config", "http", "plaza"][..]),
        ("config", &["http", "plaza"][..]),
        ("http", &["plaza"][..]),
        ("plaza", &[][..]),
    ]);
    let shared = [
        "metrics",
        "logging",
        "systemd",
        "signals",
        "build_info",
        "open_files",
        "start_time",
        "boot_clock",
    ];
    let mut offenders = Vec::new();
    for (module, imports) in graph() {
        for import in imports {
            let (from, to) = (room(&module), room(&import));
            let allowed = from == to
                || match below.get(from) {
                    Some(rooms) => rooms.contains(&to) || shared.contains(&to),
                    // A shared module uses only other shared modules.
                    None => shared.contains(&to) || from == "lib" || from == "main",
                };
            if !allowed {
                offenders.push(format!("{module} -> {import}"));
            }
        }
    }
    assert!(offenders.is_empty(), "imports against the rooms' order: {offenders:?}");
}

#[test]
fn no_file_imports_another_that_imports_it_back() {
    let graph = graph();
    // Depth-first search for a cycle; report the first found with its path.
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = stack.iter().position(|n| n == node) {
            let mut cycle = stack[at..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, stack, done) {
                return Some(cycle);
            }
        }
        stack.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for module in graph.keys() {
        if let Some(cycle) = visit(module, &graph, &mut Vec::new(), &mut done) {
            panic!("import circle: {}", cycle.join(" -> "));
        }
    }
}

#[test]
fn settings_are_one_room() {
    // What once stood beside `config` lives inside it: the machinery, the plaza's
    // declarations, the listen address parser. (The rooms' order keeps `http` and
    // `plaza` from importing it back.)
    let modules = modules();
    for gone in ["layering", "plaza::settings", "http::listen_addr"] {
        assert!(
            !modules.contains_key(gone),
            "{gone} is configuration machinery: it belongs under src/config/"
        );
    }
    let graph = graph();
    assert!(
        graph["config::plaza"].contains("config::layering"),
        "{:?}",
        graph["config::plaza"]
    );
}

#[test]
fn variable_names_are_written_only_where_settings_are_declared() {
    // Build-time names (set by build.rs for the compiler) are not settings.
    let build_script = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/build.rs")).unwrap();
    let build_time: BTreeSet<&str> = build_script
        .split("cargo:rustc-env=")
        .skip(1)
        .filter_map(|rest| rest.split('=').next())
        .collect();
    assert!(build_time.contains("NARA_GIT_REVISION"), "{build_time:?}");
    // Only under `config/`, and there only in the files that declare settings.
    let declaring = ["config::general", "config::plaza", "config::secrets"];
    let mut offenders = Vec::new();
    for (module, source) in modules() {
        if declaring.contains(&module.as_str()) {
            continue;
        }
        for word in code_of(&source).split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
            if word.starts_with("NARA_") && !build_time.contains(word) {
                offenders.push(format!("{module}: {word}"));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "variable names outside the declarations: {offenders:?}"
    );
}

/// The Architecture chapter's tree of `src/` names every file: by its own name
/// (`hangup.rs`), a folder's `mod.rs` by the folder (`http/`), and the files of a
/// folder the tree draws whole, with none of its files named (`layering/`), by that
/// folder.
#[test]
fn the_architecture_chapter_names_every_file() {
    let chapter = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/src/architecture.md"))
        .expect("the Architecture chapter");
    let tree = chapter
        .split("```text\nsrc/\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("the chapter draws src/ in a text block");
    let named = |word: &str| tree.split(|c: char| c.is_whitespace() || c == ',').any(|w| w == word);
    let modules: Vec<String> = modules().into_keys().collect();
    let folder_of = |module: &str| module.rsplit_once("::").map(|(folder, _)| folder.to_string());
    let last = |module: &str| module.rsplit("::").next().unwrap_or(module).to_string();
    let file_named = |module: &str| named(&format!("{}.rs", last(module)));
    let missing: Vec<&String> = modules
        .iter()
        .filter(|module| {
            let is_folder = modules.iter().any(|m| m.starts_with(&format!("{module}::")));
            if is_folder {
                return !named(&format!("{}/", last(module)));
            }
            let drawn_whole = folder_of(module).is_some_and(|folder| {
                named(&format!("{}/", last(&folder)))
                    && !modules
                        .iter()
                        .any(|m| folder_of(m).as_deref() == Some(folder.as_str()) && file_named(m))
            });
            !(file_named(module) || drawn_whole)
        })
        .collect();
    assert!(missing.is_empty(), "docs/src/architecture.md's tree lacks {missing:?}");
}
