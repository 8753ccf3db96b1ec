//! The one order of versions nara knows: semantic versioning's precedence
//! (`MAJOR.MINOR.PATCH` compared as numbers, a pre-release below its release), as the
//! `semver` crate parses and compares it. A version that does not parse (`v1.2.3`,
//! `1.2`, a Go nara's fancy) sorts below every one that does, so it never becomes a
//! rollout's target by being odd. Ties in precedence (build metadata, or two versions
//! that do not parse) fall back to the text, so the order is total and stable.
//!
//! The web UI orders versions the same way (`web/src/rollout.js`); both are held to
//! the examples in `web/test/version-order.json`.

use std::cmp::Ordering;

/// `a` against `b` in version order: [`Ordering::Greater`] when `a` is the newer.
pub(crate) fn compare(a: &str, b: &str) -> Ordering {
    match (semver::Version::parse(a), semver::Version::parse(b)) {
        (Ok(x), Ok(y)) => x.cmp_precedence(&y),
        (Ok(_), Err(_)) => Ordering::Greater,
        (Err(_), Ok(_)) => Ordering::Less,
        (Err(_), Err(_)) => Ordering::Equal,
    }
    .then_with(|| a.cmp(b))
}

/// Why `text` is not a version nara can order, for an error naming the flag it came
/// from; `None` when it is one.
pub(crate) fn problem(text: &str) -> Option<String> {
    match semver::Version::parse(text) {
        Ok(_) => None,
        Err(e) if text.starts_with(['v', 'V']) => Some(format!(
            "{e}: write the version as the naras send it, without the leading {:?}",
            &text[..1]
        )),
        Err(e) => Some(format!("{e}: expected a semantic version such as 0.2.0 or 1.0.0-rc.1")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The examples the web UI's tests hold `compareVersions` to, oldest first.
    fn shared_examples() -> Vec<String> {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/web/test/version-order.json");
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let examples: serde_json::Value = serde_json::from_str(&text).expect("the examples are JSON");
        examples["ascending"]
            .as_array()
            .expect("an `ascending` list")
            .iter()
            .map(|v| v.as_str().expect("a version is a string").to_string())
            .collect()
    }

    #[test]
    fn the_shared_examples_are_in_order_each_against_every_other() {
        let examples = shared_examples();
        assert!(examples.len() >= 10, "{examples:?}");
        for (i, a) in examples.iter().enumerate() {
            for (j, b) in examples.iter().enumerate() {
                assert_eq!(compare(a, b), i.cmp(&j), "{a} against {b}");
            }
        }
    }

    #[test]
    fn numbers_compare_as_numbers_and_a_pre_release_comes_before_its_release() {
        assert_eq!(compare("0.10.0", "0.9.1"), Ordering::Greater);
        assert_eq!(compare("1.0.0-rc.1", "1.0.0"), Ordering::Less);
        assert_eq!(compare("1.0.0-rc.2", "1.0.0-rc.10"), Ordering::Less);
        assert_eq!(
            compare("0.0.1", "v9.0.0"),
            Ordering::Greater,
            "what does not parse is oldest"
        );
        assert_eq!(compare("1.0.0", "1.0.0"), Ordering::Equal);
    }

    #[test]
    fn a_version_that_does_not_parse_is_named_with_what_to_write() {
        assert_eq!(problem("0.2.0"), None);
        assert!(problem("v0.2.0").is_some_and(|p| p.contains("without the leading \"v\"")));
        assert!(problem("1.2").is_some_and(|p| p.contains("such as 0.2.0")));
    }
}
