//! The house rules of `src/`, checked on the source: the rooms depend one way, no file
//! imports another that imports it back (directly or around a loop), and settings live
//! in one room. Under `config/` each setting is declared, and its declaration is read
//! there only; environment variable names are written only where settings are declared;
//! each consumer's typed configuration (`HttpConfig`, `LogConfig`, `IdentityConfig`,
//! `PlazaConfig`) is data that only `config/` builds; a setting's numeric default is
//! written once; `config` names of the HTTP half only its typed part; the plaza and
//! the HTTP half, their unit tests included, name no configuration at all; and `lib.rs`
//! declares every room a private module and names what leaves the crate by `pub use`.

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
    without_comments(source)
}

/// The source without its comment lines, unit tests included.
fn without_comments(source: &str) -> String {
    source
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The modules `code` (of `module`) names through `crate::` or `super::` paths (in
/// `use` lines and inline), resolved to the longest module path that exists.
fn imports(module: &str, code: &str, known: &BTreeSet<String>) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let tokens = code.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':' || c == '{'));
    for token in tokens {
        let path: Vec<String> = if let Some(rest) = token.strip_prefix("crate::") {
            rest.split("::").map(String::from).collect()
        } else if token.starts_with("super::") {
            // Each `super` is one module up from this one.
            let mut base: Vec<&str> = module.split("::").collect();
            let mut rest = token;
            while let Some(after) = rest.strip_prefix("super::") {
                base.pop();
                rest = after;
            }
            base.iter().copied().chain(rest.split("::")).map(String::from).collect()
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

/// What each module imports, its unit tests left out.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    graph_of(code_of)
}

/// What each module imports, its unit tests included.
fn graph_with_tests() -> BTreeMap<String, BTreeSet<String>> {
    graph_of(without_comments)
}

fn graph_of(code: fn(&str) -> String) -> BTreeMap<String, BTreeSet<String>> {
    let modules = modules();
    let known: BTreeSet<String> = modules.keys().cloned().collect();
    modules
        .iter()
        .map(|(module, source)| (module.clone(), imports(module, &code(source), &known)))
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
fn the_plaza_and_the_http_half_name_no_configuration_even_in_their_tests() {
    // `config` holds the declarations and the machinery that resolves them; the plaza
    // and the HTTP half take only their typed part (`plaza::config`, `http::config`), and
    // their tests start from `testing`. The plaza names the HTTP half and the assembly
    // neither.
    let mut offenders = Vec::new();
    for (module, imports) in graph_with_tests() {
        for import in imports {
            let named = match room(&module) {
                "plaza" => matches!(room(&import), "config" | "http" | "nara"),
                "http" => room(&import) == "config",
                _ => false,
            };
            if named {
                offenders.push(format!("{module} -> {import}"));
            }
        }
    }
    assert!(offenders.is_empty(), "{offenders:?}");
}

#[test]
fn the_configuration_names_of_the_http_half_only_its_typed_part() {
    // `http::config` is data (HttpConfig, StreamLimits); anything else of the HTTP half
    // is behaviour the configuration has no business with.
    let offenders: Vec<String> = graph_with_tests()
        .into_iter()
        .filter(|(module, _)| room(module) == "config")
        .flat_map(|(module, imports)| {
            imports
                .into_iter()
                .filter(|i| room(i) == "http" && i != "http::config")
                .map(move |i| format!("{module} -> {i}"))
        })
        .collect();
    assert!(offenders.is_empty(), "{offenders:?}");
}

#[test]
fn rooms_depend_one_way() {
    // Each room may use only the rooms below it.
    let below: BTreeMap<&str, &[&str]> = BTreeMap::from([
        ("nara", &["config", "hooks", "http", "plaza"][..]),
        ("config", &["hooks", "http", "plaza"][..]),
        ("hooks", &["http", "plaza"][..]),
        ("http", &["plaza"][..]),
        ("plaza", &[][..]),
        ("testing", &["config", "http", "plaza"][..]),
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
fn lib_declares_private_modules_and_a_pub_use_facade() {
    // As mini-redis does: each room is a private module, and what the binary, the
    // tests, examples and fuzz targets use leaves the crate by a `pub use` in lib.rs, so
    // `pub` inside a room means only "lib.rs may name it". `testing` alone is a public
    // module, hidden from the docs, for the targets that cannot see `#[cfg(test)]`.
    let modules = modules();
    let lib = code_of(&modules["lib"]);
    let rooms: BTreeSet<&str> = modules
        .keys()
        .map(|module| room(module))
        .filter(|room| !["lib", "main", "testing"].contains(room))
        .collect();
    let mut private = BTreeSet::new();
    let mut facade = Vec::new();
    let mut offenders = Vec::new();
    let mut testing_hidden = false;
    let mut previous = "";
    for line in lib.lines().map(str::trim) {
        if let Some(name) = line.strip_prefix("mod ").and_then(|rest| rest.strip_suffix(';')) {
            private.insert(name);
        } else if line == "pub mod testing;" {
            testing_hidden = previous == "#[doc(hidden)]";
        } else if line.starts_with("pub use crate::") {
            facade.push(line);
        } else if line.starts_with("pub") {
            offenders.push(line);
        }
        previous = line;
    }
    assert!(rooms.contains("config") && rooms.contains("metrics"), "{rooms:?}");
    assert_eq!(
        private, rooms,
        "every room, and nothing else, is a private `mod` of lib.rs"
    );
    assert!(testing_hidden, "lib.rs declares `#[doc(hidden)] pub mod testing;`");
    assert!(
        facade.iter().any(|line| line.contains("Nara")),
        "the facade names what the binary starts: {facade:?}"
    );
    assert!(
        offenders.is_empty(),
        "lib.rs holds private modules and `pub use` lines only: {offenders:?}"
    );
}

/// The names of the settings' declarations (`static NAME: Setting = …`) under `config/`.
fn declarations() -> BTreeMap<String, String> {
    let mut found = BTreeMap::new();
    for (module, source) in modules().into_iter().filter(|(m, _)| room(m) == "config") {
        for line in code_of(&source).lines() {
            let Some(rest) = line.split("static ").nth(1) else {
                continue;
            };
            if let Some((name, ty)) = rest.split_once(':')
                && ty.trim_start().starts_with("Setting ")
            {
                found.insert(name.trim().to_string(), module.clone());
            }
        }
    }
    found
}

/// The variables an event hook's program gets (`hooks::event`), which are not settings.
const HOOK_VARIABLES: [&str; 6] = [
    "NARA_EVENT",
    "NARA_PEER",
    "NARA_STATUS",
    "NARA_VERSION",
    "NARA_PREVIOUS_VERSION",
    "NARA_OBSERVER",
];

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
    // Ours (NARA_*), and the other tools' that resolvers read (PORT, RUST_LOG, ...), as
    // the string a lookup would take (`HOST:PORT` in a message is no lookup): only in
    // the files that declare settings.
    let others: BTreeSet<&str> = nara::all_settings()
        .flat_map(|s| s.also_reads.iter().copied())
        .collect();
    assert!(
        others.contains("PORT") && others.contains("CREDENTIALS_DIRECTORY"),
        "{others:?}"
    );
    let declaring: BTreeSet<String> = declarations().into_values().collect();
    assert!(declaring.contains("config::http"), "{declaring:?}");
    // The variables a hook program is given are no setting nara reads: written where
    // the event is, and listed in the Operations chapter for the programs' authors.
    let operations = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/src/operations.md")).unwrap();
    for variable in HOOK_VARIABLES {
        assert!(
            operations.contains(&format!("`{variable}`")),
            "operations.md lacks {variable}"
        );
    }
    let mut offenders = Vec::new();
    for (module, source) in modules() {
        if declaring.contains(&module) {
            continue;
        }
        let code = code_of(&source);
        for word in code.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
            let given_to_hooks = module == "hooks::event" && HOOK_VARIABLES.contains(&word);
            if word.starts_with("NARA_") && !build_time.contains(word) && !given_to_hooks {
                offenders.push(format!("{module}: {word}"));
            }
        }
        for other in &others {
            if code.contains(&format!("\"{other}\"")) {
                offenders.push(format!("{module}: {other}"));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "variable names outside the declarations: {offenders:?}"
    );
}

/// The identifiers of every path `code` writes through a `config` module (`config::x::Y`,
/// `config::x::{Y, z::W}`), brace groups included.
fn names_through_config(code: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for (at, _) in code.match_indices("config::") {
        let rest = &code[at..];
        let mut end = 0;
        let mut depth = 0;
        for (i, c) in rest.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth > 0 => depth -= 1,
                c if depth > 0 || c.is_ascii_alphanumeric() || c == '_' || c == ':' => {}
                _ => break,
            }
            end = i + c.len_utf8();
        }
        names.extend(
            rest[..end]
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .filter(|w| !w.is_empty())
                .map(String::from),
        );
    }
    names
}

#[test]
fn no_setting_declaration_is_read_outside_the_configuration_room() {
    // A consumer reads its typed part, never a declaration: a flag's name or a
    // variable's in a message outside `config/` is a second copy that drifts (such
    // messages are built by `config`, as `nara soul new`'s advice is).
    let declared = declarations();
    assert!(declared.contains_key("HTTP_MAX_EVENT_STREAMS"), "{declared:?}");
    let mut offenders = Vec::new();
    for (module, source) in modules().into_iter().filter(|(m, _)| room(m) != "config") {
        for name in names_through_config(&without_comments(&source)) {
            if declared.contains_key(&name) {
                offenders.push(format!("{module} reads {name} of {}", declared[&name]));
            }
        }
    }
    assert!(offenders.is_empty(), "{offenders:?}");
}

/// Each consumer's typed configuration: data that only `config/` builds.
const CONSUMER_STRUCTS: [&str; 4] = ["HttpConfig", "LogConfig", "IdentityConfig", "PlazaConfig"];

/// The lines of `code` that build `name` with a struct literal (`Name {`, not `struct
/// Name {`) or open an `impl` block for it (where `Self { .. }` or a `Default` would be
/// a literal in disguise).
fn literals_and_impls(code: &str, name: &str) -> Vec<String> {
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut found = Vec::new();
    for line in code.lines() {
        let trimmed = line.trim();
        let mut hit = false;
        for (at, _) in line.match_indices(name) {
            let before = &line[..at];
            let after = &line[at + name.len()..];
            if before.ends_with(is_word) || after.starts_with(is_word) {
                continue;
            }
            let keyword = before.split_whitespace().last().unwrap_or("");
            let opens = after.trim_start().starts_with('{');
            hit |=
                trimmed.starts_with("impl") || (opens && !matches!(keyword, "struct" | "impl" | "for" | "enum" | "->"));
        }
        if hit {
            found.push(trimmed.to_string());
        }
    }
    found
}

#[test]
fn each_consumers_configuration_is_data_built_only_in_the_configuration_room() {
    let modules = modules();
    let mut built_in_config = BTreeSet::new();
    let mut offenders = Vec::new();
    for (module, source) in &modules {
        let code = without_comments(source);
        for name in CONSUMER_STRUCTS {
            for line in literals_and_impls(&code, name) {
                if room(module) == "config" && !line.starts_with("impl") {
                    built_in_config.insert(name);
                } else {
                    offenders.push(format!("{module}: {line}"));
                }
            }
        }
    }
    // The rule sees the literals it must: each struct is built somewhere under config/.
    assert_eq!(
        built_in_config,
        BTreeSet::from(CONSUMER_STRUCTS),
        "the scan missed a literal"
    );
    assert!(
        offenders.is_empty(),
        "built or given behaviour outside config/: {offenders:?}"
    );
}

/// The ways a declared numeric default (`64`, `10000`, `30s`) would be written in Rust:
/// the number (bare or with `_` between thousands), or a `Duration` of it.
fn spellings(default: &str) -> Vec<String> {
    let thousands = |n: u128| {
        let digits = n.to_string();
        let mut grouped = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                grouped.push('_');
            }
            grouped.push(c);
        }
        vec![digits, grouped]
    };
    if let Ok(n) = default.trim_start_matches(':').parse::<u128>() {
        return thousands(n);
    }
    let Ok(duration) = humantime::parse_duration(default) else {
        return Vec::new();
    };
    let mut forms = Vec::new();
    let ms = duration.as_millis();
    for (unit, per) in [("millis", 1), ("secs", 1_000), ("mins", 60_000), ("hours", 3_600_000)] {
        if ms.is_multiple_of(per) {
            forms.extend(thousands(ms / per).into_iter().map(|n| format!("from_{unit}({n})")));
        }
    }
    forms
}

#[test]
fn no_numeric_default_of_a_setting_is_written_outside_its_declaration() {
    // A default written twice drifts from its declaration, as a `DEFAULT_MAX_STREAMS =
    // 64` once stood beside `--http-max-event-streams`' "64". Small numbers recur for
    // other reasons (a signature's 64 bytes, a batch of 64, a 30 s stall limit), so the
    // rule looks where a copy of a default would stand: a line that says "default" and
    // a word of the setting's key (`streams`, `peers`, `skew`), with the number as the
    // declaration writes it (a count, a port, or a `Duration` of a duration's length),
    // anywhere outside `config/` (src/ with its unit tests, the integration tests,
    // examples and fuzz targets).
    let generic = ["http", "plaza", "max", "after"];
    let numeric: Vec<(&str, Vec<&str>, Vec<String>)> = nara::all_settings()
        .filter_map(|setting| match setting.default {
            nara::DefaultValue::Value(value) => Some((setting, value)),
            _ => None,
        })
        .map(|(setting, value)| {
            let words = setting.key.split('_').filter(|w| !generic.contains(w)).collect();
            (setting.key, words, spellings(value))
        })
        .filter(|(_, _, spellings)| !spellings.is_empty())
        .collect();
    let keys: Vec<&str> = numeric.iter().map(|(key, _, _)| *key).collect();
    assert!(
        keys.contains(&"http_max_event_streams") && keys.contains(&"plaza_max_skew"),
        "{keys:?}"
    );
    let mut files: Vec<(String, String)> = modules()
        .into_iter()
        .filter(|(module, _)| room(module) != "config")
        .map(|(module, source)| (format!("src: {module}"), source))
        .collect();
    for dir in ["tests", "examples", "fuzz/fuzz_targets"] {
        files.extend(rust_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join(dir)));
    }
    let mut offenders = Vec::new();
    for (file, source) in files {
        for line in without_comments(&source).lines() {
            let lower = line.to_ascii_lowercase();
            if !lower.contains("default") {
                continue;
            }
            let words: BTreeSet<&str> = lower.split(|c: char| !c.is_ascii_alphanumeric()).collect();
            let numbers: BTreeSet<&str> = line.split(|c: char| !(c.is_ascii_digit() || c == '_')).collect();
            for (key, key_words, spellings) in &numeric {
                let named = key_words.iter().any(|w| words.contains(w));
                let written = spellings.iter().any(|s| match s.starts_with("from_") {
                    true => line.contains(s.as_str()),
                    false => numbers.contains(s.as_str()),
                });
                if named && written {
                    offenders.push(format!("{file}: {} (the default of {key})", line.trim()));
                }
            }
        }
    }
    assert!(offenders.is_empty(), "{offenders:?}");
}

/// Every `.rs` file under `dir`, by path, with its text.
fn rust_files(dir: &Path) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).expect("a source file is readable");
            let relative = path.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap_or(&path);
            found.push((relative.display().to_string(), text));
        }
    }
    found
}
