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
