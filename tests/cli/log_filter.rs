//! The log filter as an operator gives it (`--log-level`, `NARA_LOG_LEVEL`, the file,
//! `RUST_LOG`): every refused filter worded alike, naming its source, and a warning on
//! stderr, where it is seen, when a filter would silence every line of nara's own.

use crate::common::raw::{get, status_of};
use crate::common::{free_port, nara_command, wait_until_blocking};
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

/// What every refused filter's message ends with.
const EXPECTED: &str = "expected a level (error, warn, info, debug, trace or off), or TARGET=LEVEL pairs such as \
                        nara=debug,hyper=info";

/// `nara` with `args` and `env`: exit status and stderr.
fn run(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let output = nara_command()
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("nara runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn every_refused_filter_is_worded_alike_naming_where_it_came_from() {
    for (args, env, value, source, at_fault) in [
        (&["--log-level", "infoo"][..], &[][..], "infoo", "--log-level", "infoo"),
        (
            &["--log-level", "info,nara=loud"][..],
            &[][..],
            "info,nara=loud",
            "--log-level",
            "nara=loud",
        ),
        (
            &[][..],
            &[("NARA_LOG_LEVEL", "infoo")][..],
            "infoo",
            "NARA_LOG_LEVEL",
            "infoo",
        ),
        (
            &[][..],
            &[("RUST_LOG", "nara=loud")][..],
            "nara=loud",
            "RUST_LOG",
            "nara=loud",
        ),
    ] {
        let (code, stderr) = run(args, env);
        assert_eq!(code, Some(2), "{args:?} {env:?}: {stderr}");
        assert_eq!(
            stderr.trim_end(),
            format!(
                "nara: invalid value {value:?} for {source}: {at_fault:?} is not a level or TARGET=LEVEL; {EXPECTED}"
            )
        );
    }
    let (code, stderr) = run(
        &["check-config", "--log-level", "nara=debug,warn"],
        &[("RUST_LOG", "infoo")],
    );
    assert_eq!(
        code,
        Some(0),
        "a target filter is a filter, and --log-level wins: {stderr}"
    );
}

/// Starts nara on a free loopback port with `args` and `env` (and a filter, which is
/// the point), waits until it answers `/healthz`, and returns what it had written to
/// stderr by then: the warnings before it binds and, if the filter lets it through, the
/// start-up line, which comes before the first answer.
fn stderr_once_listening(args: &[&str], env: &[(&str, &str)]) -> Vec<String> {
    let port = free_port();
    let mut child = nara_command()
        .args(["--http-addr", &format!("127.0.0.1:{port}"), "--name", "quiet"])
        .args(args)
        .envs(env.iter().copied())
        .env("NARA_LOG_FORMAT", "json")
        .stderr(Stdio::piped())
        .spawn()
        .expect("nara runs");
    let stderr = child.stderr.take().expect("stderr was piped");
    let reader = std::thread::spawn(move || BufReader::new(stderr).lines().map_while(Result::ok).collect::<Vec<_>>());
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    wait_until_blocking("nara to answer /healthz", Duration::from_secs(10), || {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("nara exited with {status}");
        }
        std::net::TcpStream::connect(addr).ok()?;
        (status_of(&get(addr, "/healthz")) == 200).then_some(())
    });
    let _ = child.kill();
    let _ = child.wait();
    reader.join().expect("the reader ends with the process")
}

#[test]
fn a_filter_that_enables_none_of_naras_lines_is_warned_of_on_stderr_naming_its_source() {
    for (args, env, filter, source) in [
        (&[][..], &[("RUST_LOG", "infoo")][..], "infoo", "RUST_LOG"),
        (
            &["--log-level", "hyper=debug"][..],
            &[][..],
            "hyper=debug",
            "--log-level",
        ),
        (
            &[][..],
            &[("NARA_LOG_LEVEL", "narax=info")][..],
            "narax=info",
            "NARA_LOG_LEVEL",
        ),
    ] {
        let stderr = stderr_once_listening(args, env);
        let warning = format!(
            "nara: warning: the log filter {filter:?} from {source} enables none of nara's own log lines, so nara \
             logs nothing of its own (a word that is not a level names a target, and nara's targets are nara and \
             nara::…); {EXPECTED}"
        );
        assert_eq!(
            stderr.first(),
            Some(&warning),
            "{args:?} {env:?}:\n{}",
            stderr.join("\n")
        );
        assert!(
            !stderr.iter().any(|l| l.contains("nara listening")),
            "and nara's lines are silenced indeed:\n{}",
            stderr.join("\n")
        );
    }
}

#[test]
fn a_filter_that_turns_naras_lines_off_or_lets_them_through_is_not_warned_of() {
    for (args, env) in [
        (&[][..], &[("RUST_LOG", "off")][..]),
        (&["--log-level", "nara=off"][..], &[][..]),
        (&[][..], &[("RUST_LOG", "hyper=debug,nara=info")][..]),
    ] {
        let stderr = stderr_once_listening(args, env);
        assert!(
            !stderr.iter().any(|l| l.contains("warning")),
            "{args:?} {env:?}:\n{}",
            stderr.join("\n")
        );
    }
    let heard = stderr_once_listening(&[], &[("RUST_LOG", "nara=info")]);
    assert!(
        heard.iter().any(|l| l.contains("nara listening")),
        "the harness does see a start-up line:\n{}",
        heard.join("\n")
    );
}
