//! The book must keep up with the code: every flag and environment variable that
//! `nara --help` names is in the configuration reference.

use clap::CommandFactory;

#[test]
fn the_configuration_reference_names_every_flag_and_variable() {
    let reference = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/src/configuration.md")).unwrap();
    let command = nara::cli::Cli::command();
    let mut missing = Vec::new();
    let subcommands = command
        .get_subcommands()
        .flat_map(|s| s.get_subcommands().chain(std::iter::once(s)));
    for arg in command
        .get_arguments()
        .chain(subcommands.flat_map(|s| s.get_arguments()))
    {
        if let Some(long) = arg.get_long()
            && !matches!(long, "help" | "version")
            && !reference.contains(&format!("--{long}"))
        {
            missing.push(format!("--{long}"));
        }
        if let Some(env) = arg.get_env().and_then(|e| e.to_str())
            && !reference.contains(env)
        {
            missing.push(env.to_string());
        }
    }
    assert!(missing.is_empty(), "docs/src/configuration.md lacks {missing:?}");
}

/// Option names a module declares (`name = mkOption`, `secretPath`, `mkEnableOption`, ...).
fn module_options(module: &str) -> Vec<String> {
    let source = std::fs::read_to_string(format!("{}/{module}", env!("CARGO_MANIFEST_DIR"))).unwrap();
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
