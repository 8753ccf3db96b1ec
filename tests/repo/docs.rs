//! The book and `--help` must keep up with the code: the settings' declarations, the
//! command line's help and the configuration chapter name the same flags, variables,
//! file keys and defaults, the module chapters name every module option, and the
//! architecture chapter's tree names every file under `src/`, and the "Coming from Go"
//! chapter says which of the Go nara's keys each of its JSON routes carries.

use crate::common::free_port;
use crate::common::repo_files::{console_block, repo_file};
use nara::{DefaultValue, Setting, Shape, all_settings, cli};
use std::collections::BTreeSet;
use std::os::unix::process::CommandExt;
use std::path::Path;

fn chapter() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/src/configuration.md"))
        .expect("docs/src/configuration.md is readable")
}

fn code(text: &str) -> String {
    format!("`{text}`")
}

/// The four cells a setting's row in the chapter must hold: flag (with its value's
/// placeholder), variables, file key, default.
fn expected_row(setting: &Setting) -> [String; 4] {
    let flag = match (setting.flag, setting.shape) {
        (Some(flag), Shape::Switch) => code(&format!("--{flag}")),
        (Some(flag), Shape::Value | Shape::List) => code(&format!("--{flag} {}", setting.value_name)),
        (None, _) => String::new(),
    };
    let flag = std::iter::once(flag)
        .chain(setting.aliases.iter().map(|alias| code(&format!("--{alias}"))))
        .collect::<Vec<_>>()
        .join(", ");
    let env = setting.env.iter().map(|v| code(v)).collect::<Vec<_>>().join(", ");
    let key = if setting.in_file {
        code(setting.key)
    } else {
        String::new()
    };
    let default = match setting.default {
        DefaultValue::Unset => "none".to_string(),
        DefaultValue::Value(value) => code(value),
        DefaultValue::Described(text) => text.to_string(),
    };
    [flag, env, key, default]
}

/// The first four cells of every row of the chapter's settings tables.
fn documented_rows(chapter: &str) -> BTreeSet<[String; 4]> {
    let section = chapter
        .split("\n## Settings\n")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("the chapter has a Settings section");
    section
        .lines()
        .filter(|line| line.starts_with('|') && !line.starts_with("| Flag") && !line.starts_with("| ---"))
        .map(|line| {
            let cells: Vec<String> = line.split('|').skip(1).map(|c| c.trim().to_string()).collect();
            [cells[0].clone(), cells[1].clone(), cells[2].clone(), cells[3].clone()]
        })
        .collect()
}

#[test]
fn the_configuration_chapter_lists_exactly_the_declared_settings() {
    let declared: BTreeSet<[String; 4]> = all_settings().map(expected_row).collect();
    let documented = documented_rows(&chapter());
    let undocumented: Vec<_> = declared.difference(&documented).collect();
    let undeclared: Vec<_> = documented.difference(&declared).collect();
    assert!(
        undocumented.is_empty() && undeclared.is_empty(),
        "docs/src/configuration.md disagrees with the declarations:\n  declared, not in the chapter as such: {undocumented:?}\n  in the chapter, not declared: {undeclared:?}"
    );
}

#[test]
fn the_chapter_names_every_variable_of_other_tools_that_a_setting_reads() {
    let chapter = chapter();
    let missing: Vec<&str> = all_settings()
        .flat_map(|s| s.also_reads.iter().copied())
        .filter(|var| !chapter.contains(&code(var)))
        .collect();
    assert!(missing.is_empty(), "docs/src/configuration.md lacks {missing:?}");
}

#[test]
fn help_shows_each_setting_with_its_variables_and_default_and_nothing_undeclared() {
    let help = cli::command().render_long_help().to_string();
    for setting in all_settings() {
        let shown = match setting.flag {
            Some(flag) => format!("--{flag}"),
            None => setting.env[0].to_string(),
        };
        assert!(help.contains(&shown), "--help lacks {shown}");
        if setting.flag.is_some() && !setting.env.is_empty() {
            let env = format!("[env: {}]", setting.env.join(", "));
            assert!(help.contains(&env), "--help lacks {env} for {shown}");
        }
        if let (Some(default), Some(_)) = (setting.default_text(), setting.flag) {
            assert!(
                help.contains(&format!("[default: {default}]")),
                "--help lacks the default of {shown}"
            );
        }
    }
    let declared_env: BTreeSet<&str> = all_settings().flat_map(|s| s.env.iter().copied()).collect();
    let declared_flags: BTreeSet<String> = all_settings()
        .flat_map(|s| s.flag.into_iter().chain(s.aliases.iter().copied()))
        .map(|f| format!("--{f}"))
        .collect();
    for word in help.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-')) {
        if word.starts_with("NARA_") {
            assert!(
                declared_env.contains(word),
                "--help names {word}, which no setting declares"
            );
        }
        if word.starts_with("--") && word.len() > 2 && !matches!(word, "--help" | "--version") {
            assert!(
                declared_flags.contains(word),
                "--help names {word}, which no setting declares"
            );
        }
    }
}

#[test]
fn the_chapter_names_every_subcommand_flag() {
    let chapter = chapter();
    let command = cli::command();
    let mut missing = Vec::new();
    let subcommands = command
        .get_subcommands()
        .flat_map(|s| s.get_subcommands().chain(std::iter::once(s)));
    for sub in subcommands {
        if !chapter.contains(sub.get_name()) {
            missing.push(sub.get_name().to_string());
        }
        for arg in sub.get_arguments() {
            if let Some(long) = arg.get_long()
                && !chapter.contains(&format!("--{long}"))
            {
                missing.push(format!("{} --{long}", sub.get_name()));
            }
        }
    }
    assert!(missing.is_empty(), "docs/src/configuration.md lacks {missing:?}");
}

/// Option names a module declares (`name = mkOption`, `secretPath`, `mkEnableOption`, ...).
/// The files the architecture chapter's tree of `src/` names, as paths under `src/`
/// (`config/identity/name.rs`): an entry's depth is where its `├──` or `└──` stands, and
/// one entry may name several files (`assets.rs, encoding.rs`) before its description.
fn files_in_the_tree(chapter: &str) -> BTreeSet<String> {
    let tree = chapter
        .split("```text\nsrc/\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("the architecture chapter draws src/ in a text block");
    let mut dirs: Vec<&str> = Vec::new();
    let mut files = BTreeSet::new();
    for line in tree.lines() {
        let Some(at) = line.find("── ") else { continue };
        let depth = (line[..at].chars().count() - 1) / 4;
        dirs.truncate(depth);
        for word in line[at + "── ".len()..].split_whitespace() {
            let name = word.trim_end_matches(',');
            if let Some(dir) = name.strip_suffix('/') {
                dirs.push(dir);
            } else if name.ends_with(".rs") {
                files.insert(dirs.iter().chain([&name]).copied().collect::<Vec<_>>().join("/"));
            }
            if !word.ends_with(',') {
                break;
            }
        }
    }
    files
}

/// Every `.rs` file under `dir`, as a path under `root`.
fn rust_files(root: &Path, dir: &Path, found: &mut BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).expect("src/ lists") {
        let path = entry.expect("src/ lists").path();
        if path.is_dir() {
            rust_files(root, &path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let relative = path.strip_prefix(root).expect("under src/");
            found.insert(relative.to_string_lossy().into_owned());
        }
    }
}

#[test]
fn the_architecture_chapter_names_every_file_under_src() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut on_disk = BTreeSet::new();
    rust_files(&src, &src, &mut on_disk);
    let drawn = files_in_the_tree(&repo_file("docs/src/architecture.md"));
    assert!(
        drawn.contains("config/identity/name.rs") && drawn.contains("http/assets.rs"),
        "the tree reads nested and shared lines: {drawn:?}"
    );
    let missing: Vec<&String> = on_disk.difference(&drawn).collect();
    let gone: Vec<&String> = drawn.difference(&on_disk).collect();
    assert!(
        missing.is_empty() && gone.is_empty(),
        "docs/src/architecture.md's tree misses {missing:?} and names {gone:?}, which src/ does not have"
    );
}

fn module_options(module: &str) -> Vec<String> {
    let source =
        std::fs::read_to_string(format!("{}/{module}", env!("CARGO_MANIFEST_DIR"))).expect("the module is readable");
    source
        .lines()
        .filter_map(|line| {
            let (name, rest) = line.trim().split_once(" = ")?;
            let declares = ["mkOption", "secretPath", "lib.mkEnableOption", "lib.mkPackageOption"]
                .iter()
                .any(|d| rest.starts_with(d));
            (declares && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')).then(|| name.to_string())
        })
        .collect()
}

#[test]
fn each_module_chapter_names_every_option_of_its_module() {
    for (module, chapter) in [
        ("modules/nixos.nix", "docs/src/deploy/nixos.md"),
        ("modules/home-manager.nix", "docs/src/deploy/home-manager.md"),
    ] {
        let text = std::fs::read_to_string(format!("{}/{chapter}", env!("CARGO_MANIFEST_DIR"))).unwrap();
        let options = module_options(module);
        assert!(options.len() > 5, "found too few options in {module}: {options:?}");
        let missing: Vec<&String> = options.iter().filter(|o| !text.contains(o.as_str())).collect();
        assert!(missing.is_empty(), "{chapter} lacks {missing:?} from {module}");
    }
}

/// The NixOS module types a few settings itself (for documentation and early errors);
/// it is tested against the declarations, not generated from them: each typed key is a
/// declared file key, and each value its enums allow is one nara accepts.
#[test]
fn the_nixos_modules_typed_settings_are_declared_file_keys() {
    let module = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/modules/nixos.nix")).unwrap();
    let typed_block = module
        .split("settingsType = types.submodule {")
        .nth(1)
        .and_then(|rest| rest.split("\n  };\n").next())
        .expect("modules/nixos.nix has a settingsType submodule");
    let typed: Vec<&str> = typed_block
        .lines()
        .filter_map(|line| line.trim().strip_suffix(" = mkOption {"))
        .collect();
    assert!(typed.len() >= 5, "found too few typed settings: {typed:?}");
    let file_keys: BTreeSet<&str> = all_settings().filter(|s| s.in_file).map(|s| s.key).collect();
    for key in &typed {
        assert!(
            file_keys.contains(key),
            "modules/nixos.nix types `{key}`, which is no config key"
        );
    }
    let log_format = typed_block
        .split("log_format = mkOption {")
        .nth(1)
        .and_then(|rest| rest.split("types.enum [").nth(1))
        .and_then(|rest| rest.split(']').next())
        .expect("log_format is an enum in the module");
    for value in log_format.split_whitespace().map(|v| v.trim_matches('"')) {
        assert!(
            nara::LogFormat::parse(value).is_ok(),
            "the module allows log_format {value:?}, which nara refuses"
        );
    }
}

/// The lines of a console block without their `$ ` prompts.
fn commands(block: &str) -> Vec<String> {
    block
        .lines()
        .map(|l| l.trim_start_matches("$ ").trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

/// The two-nara demo of the README and the book's Quick start, run as written in a
/// shell but for its ports (free ones instead of 1883, 8081, 8082) and the binary's
/// path: the curl line must show alpha and beta ONLINE within a few seconds.
#[test]
fn the_two_naras_demo_runs_as_written() {
    let demo = commands(&console_block("README.md", "mosquitto -p 1883"));
    assert_eq!(
        demo,
        commands(&console_block("docs/src/quick-start.md", "mosquitto -p 1883")),
        "the README and the book show one demo"
    );

    let ports: Vec<(String, String)> = ["1883", "8081", "8082"]
        .iter()
        .map(|p| (p.to_string(), free_port().to_string()))
        .collect();
    let localize = |line: &str| {
        let mut line = line.replace("target/release/nara", env!("CARGO_BIN_EXE_nara"));
        for (from, to) in &ports {
            line = line.replace(from.as_str(), to);
        }
        line
    };
    let (check, background): (Vec<&String>, Vec<&String>) = demo.iter().partition(|l| l.starts_with("curl"));
    let script: String = background.iter().map(|l| localize(l) + "\n").collect::<String>() + "wait\n";
    let path = format!("/usr/sbin:/sbin:{}", std::env::var("PATH").unwrap_or_default());
    let mut shell = std::process::Command::new("bash")
        .args(["-c", &script])
        .env_clear()
        .env("PATH", path)
        .process_group(0)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("bash runs the demo");
    let check = localize(check.first().expect("the demo ends with a curl"));
    let check = check.split('#').next().unwrap_or_default().trim().to_string();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let mut last;
    let met = loop {
        let out = std::process::Command::new("bash")
            .args(["-c", &check])
            .output()
            .expect("curl runs");
        last = String::from_utf8_lossy(&out.stdout).into_owned();
        let online = |name: &str| {
            serde_json::from_str::<serde_json::Value>(&last).ok().is_some_and(|v| {
                v["peers"]
                    .as_array()
                    .is_some_and(|peers| peers.iter().any(|p| p["name"] == name && p["status"] == "ONLINE"))
            })
        };
        if online("alpha") && online("beta") {
            break true;
        }
        if std::time::Instant::now() > deadline {
            break false;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    // The whole demo, mosquitto included, is one process group of its own.
    let group = i32::try_from(shell.id()).expect("a pid");
    assert!(group > 1, "the demo's process group is its own");
    #[expect(unsafe_code, reason = "killpg(2) has no safe wrapper in std")]
    // SAFETY: signals a process group this test created; no memory is involved.
    unsafe {
        libc::killpg(group, libc::SIGTERM);
    }
    let _ = shell.wait();
    assert!(met, "`{check}` never showed alpha and beta ONLINE; last answer: {last}");
}

/// The backticked words of a table cell.
fn code_spans(cell: &str) -> Vec<String> {
    cell.split('`').skip(1).step_by(2).map(String::from).collect()
}

/// The keys of the first item of a Go fleet route, as a lone nara answers it.
async fn go_item_keys(path: &str) -> BTreeSet<String> {
    use http_body_util::BodyExt;
    let health = std::sync::Arc::new(nara::Health::new());
    let app = nara::testing::app("chapter", health);
    let request = http::Request::get(path).body(()).expect("a request");
    let body = app
        .handle(&request)
        .into_body()
        .collect()
        .await
        .expect("a body")
        .to_bytes();
    let fleet: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
    fleet["naras"][0]
        .as_object()
        .expect("an item")
        .keys()
        .cloned()
        .collect()
}

#[tokio::test]
async fn the_coming_from_go_chapter_says_what_each_go_route_carries_and_leaves_out() {
    use crate::common::go_wire::{GO_API_OBSERVER_KEYS, GO_HOST_STATS_KEYS, GO_NARAE_KEYS, GO_STATUS_KEYS};
    let chapter = repo_file("docs/src/coming-from-go.md");
    let api_keys: BTreeSet<&str> = GO_STATUS_KEYS.iter().chain(GO_API_OBSERVER_KEYS).copied().collect();
    let narae_keys: BTreeSet<&str> = GO_NARAE_KEYS.iter().copied().collect();
    for (route, go_keys) in [("/api.json", api_keys), ("/narae.json", narae_keys)] {
        let row = chapter
            .lines()
            .find(|line| line.starts_with(&format!("| `{route}` |")))
            .unwrap_or_else(|| panic!("the chapter has no row for {route}"));
        let cells: Vec<&str> = row.split(" | ").collect();
        let keys_of = |cell: &str| -> BTreeSet<String> {
            code_spans(cell)
                .iter()
                .flat_map(|span| match span.strip_suffix('*') {
                    // `event_store_*` names every key with that prefix.
                    Some(prefix) => go_keys
                        .iter()
                        .filter(|k| k.starts_with(prefix))
                        .map(|k| k.to_string())
                        .collect(),
                    None => go_keys
                        .contains(span.as_str())
                        .then(|| span.clone())
                        .into_iter()
                        .collect::<Vec<_>>(),
                })
                .collect()
        };
        let carries = keys_of(cells[1]);
        // A row names HostStats among what it leaves out for its other keys.
        let leaves_out: BTreeSet<String> = keys_of(cells[2]).into_iter().filter(|k| k != "HostStats").collect();
        if route == "/api.json" {
            // HostStats carries the uptime and the host health nara reads; the
            // chapter names those as carried and every other HostStats key as left out.
            let carried_stats = ["Uptime", "LoadAvg", "MemAllocMB", "ProcCPUPercent"];
            let (carried, left): (Vec<&str>, Vec<&str>) =
                GO_HOST_STATS_KEYS.iter().partition(|k| carried_stats.contains(k));
            let names = |cell: &str, keys: &[&str]| {
                let spans = code_spans(cell);
                keys.iter().all(|k| spans.iter().any(|s| s == k))
            };
            assert!(
                names(cells[1], &carried),
                "{route}: the chapter names the HostStats keys carried, {carried:?}"
            );
            assert!(
                names(cells[2], &left),
                "{route}: the chapter names the HostStats keys left out, {left:?}"
            );
        }
        assert_eq!(
            carries,
            go_item_keys(route).await,
            "{route}: the chapter's Carries, against the code"
        );
        assert!(
            carries.is_disjoint(&leaves_out),
            "{route}: {carries:?} and {leaves_out:?}"
        );
        let named: BTreeSet<&str> = carries.iter().chain(&leaves_out).map(String::as_str).collect();
        assert_eq!(named, go_keys, "{route}: every Go key is carried or left out");
    }
}
