//! Running the programs xtask drives, two ways: read what one prints, or run one in
//! front of the developer. Either fails with the program's name and what went wrong.

use std::process::Command;

/// What `command` prints on stdout; its stderr in the error when it fails.
pub fn output(command: &mut Command) -> Result<String, String> {
    let program = command.get_program().to_string_lossy().into_owned();
    let out = command.output().map_err(|e| not_started(&program, e))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "{program} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Runs `command` on the terminal; `shown` names it in the error.
pub fn run(command: &mut Command, shown: &str) -> Result<(), String> {
    let status = command.status().map_err(|e| not_started(shown, e))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{shown} exited with {status}"))
    }
}

fn not_started(shown: &str, error: std::io::Error) -> String {
    match error.kind() {
        std::io::ErrorKind::NotFound => format!("cannot start {shown}: not installed (make bootstrap installs it)"),
        _ => format!("cannot start {shown}: {error}"),
    }
}
