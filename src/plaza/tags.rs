//! A nara's tags: `key=value` labels it signs into its newspaper (the `tags` member,
//! which the Go nara ignores), by which an operator slices a fleet by site, role or
//! region. This file owns their limits, checked the same way on send (the `--tag`
//! setting) and on receive (a newspaper over them is refused as invalid), and the
//! automatic labels a platform gives (`FLY_REGION`, the pod's namespace, OS and
//! architecture).
//!
//! The limits keep a newspaper small and a view of 10,000 naras within its budget (the
//! Performance chapter): at most [`MAX_TAGS`] tags, a key of 1 to [`MAX_KEY_BYTES`]
//! bytes (`[a-z0-9][a-z0-9_.-]*`), a value of 1 to [`MAX_VALUE_BYTES`] bytes of
//! printable UTF-8 without white space, commas, quotes or backslashes (so a value reads
//! the same in a flag, a variable's spaced list, the API's comma-separated filter and a
//! metric label), and at most [`MAX_JSON_BYTES`] for the whole `tags` object as JSON.

use serde::{Serialize, Serializer};
use std::collections::BTreeMap;

/// The most tags a nara carries, automatic labels included.
pub const MAX_TAGS: usize = 16;
/// The longest key, in bytes.
pub const MAX_KEY_BYTES: usize = 32;
/// The longest value, in bytes.
pub const MAX_VALUE_BYTES: usize = 64;
/// The most bytes the `tags` object takes in a newspaper, as JSON (`{"k":"v",…}`).
pub const MAX_JSON_BYTES: usize = 1024;

/// The tag that keeps a nara's departures from running hooks: `ephemeral=true`.
pub const EPHEMERAL: (&str, &str) = ("ephemeral", "true");

/// The keys nara fills in by itself where the platform says, each with where from; an
/// explicit tag of the same key wins.
pub const AUTOMATIC_KEYS: [(&str, &str); 4] = [
    ("fly_region", "the variable FLY_REGION, which Fly.io sets"),
    (
        "k8s_namespace",
        "the variable POD_NAMESPACE, which the shipped Kubernetes manifest fills from the downward API",
    ),
    ("os", "the operating system nara was built for (linux, macos, …)"),
    (
        "arch",
        "the processor architecture nara was built for (x86_64, aarch64, …)",
    ),
];

/// A nara's tags, by key, within the limits.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tags(BTreeMap<String, String>);

impl Serialize for Tags {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

/// No tags: what a Go nara's newspaper carries.
pub static NO_TAGS: Tags = Tags(BTreeMap::new());

/// Why a key breaks the rules, if it does.
pub fn key_problem(key: &str) -> Option<String> {
    let mut bytes = key.bytes();
    let first_ok = bytes
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    let rest_ok = bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_.-".contains(&b));
    (!(first_ok && rest_ok && key.len() <= MAX_KEY_BYTES)).then(|| {
        format!(
            "the key {key:?} is not 1 to {MAX_KEY_BYTES} lower-case letters, digits, '_', '.' or '-', starting with a letter or digit"
        )
    })
}

/// Why a value breaks the rules, if it does.
pub fn value_problem(value: &str) -> Option<String> {
    let ok = !value.is_empty()
        && value.len() <= MAX_VALUE_BYTES
        && value
            .chars()
            .all(|c| !c.is_control() && !c.is_whitespace() && !matches!(c, ',' | '"' | '\\'));
    (!ok).then(|| {
        format!(
            "the value {value:?} is not 1 to {MAX_VALUE_BYTES} bytes of printable text without white space, commas, quotes or backslashes"
        )
    })
}

impl Tags {
    /// The tags, or why they break the limits (each key and value, the count, the total).
    pub fn new(tags: BTreeMap<String, String>) -> Result<Tags, String> {
        for (key, value) in &tags {
            if let Some(problem) = key_problem(key).or_else(|| value_problem(value)) {
                return Err(format!("tag {key}={value}: {problem}"));
            }
        }
        let tags = Tags(tags);
        if tags.0.len() > MAX_TAGS {
            return Err(format!(
                "{} tags, more than the {MAX_TAGS} a nara may carry",
                tags.0.len()
            ));
        }
        let json = tags.json_bytes();
        if json > MAX_JSON_BYTES {
            return Err(format!(
                "the tags take {json} bytes as JSON, more than the {MAX_JSON_BYTES} a newspaper carries"
            ));
        }
        Ok(tags)
    }

    /// The tags `--tag` gives, one `KEY=VALUE` each (a key given twice takes its last
    /// value), or the error naming the tag at fault.
    pub fn parse<'a>(items: impl IntoIterator<Item = &'a str>) -> Result<Tags, String> {
        let mut tags = BTreeMap::new();
        for item in items {
            let Some((key, value)) = item.split_once('=') else {
                return Err(format!("the tag {item:?} is not KEY=VALUE, such as role=db"));
            };
            if let Some(problem) = key_problem(key).or_else(|| value_problem(value)) {
                return Err(format!("the tag {item:?}: {problem}"));
            }
            tags.insert(key.to_string(), value.to_string());
        }
        Tags::new(tags)
    }

    /// These tags with the automatic labels (see [`AUTOMATIC_KEYS`]) that `env` gives,
    /// where no tag of that key was given and the limits leave room; and the labels left
    /// out, each with why, for a warning.
    pub fn with_automatic(self, env: impl Fn(&str) -> Option<String>) -> (Tags, Vec<String>) {
        let mut skipped = Vec::new();
        let mut tags = self;
        let found = [
            ("fly_region", env("FLY_REGION")),
            ("k8s_namespace", env("POD_NAMESPACE")),
            ("os", Some(std::env::consts::OS.to_string())),
            ("arch", Some(std::env::consts::ARCH.to_string())),
        ];
        for (key, value) in found {
            let Some(value) = value.filter(|v| !v.is_empty()) else {
                continue;
            };
            if tags.0.contains_key(key) {
                continue;
            }
            let mut more = tags.0.clone();
            more.insert(key.to_string(), value.clone());
            match Tags::new(more) {
                Ok(more) => tags = more,
                Err(why) => skipped.push(format!("the automatic tag {key}={value:?} is left out: {why}")),
            }
        }
        (tags, skipped)
    }

    /// The value of `key`, if tagged.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// Each tag, by key.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// How many tags.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// No tags.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Tagged `ephemeral=true`: its departures run no hook.
    pub fn is_ephemeral(&self) -> bool {
        self.get(EPHEMERAL.0) == Some(EPHEMERAL.1)
    }

    /// The bytes of the `tags` object as JSON.
    fn json_bytes(&self) -> usize {
        serde_json::to_vec(&self.0).map_or(usize::MAX, |json| json.len())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Tags at every limit at once: [`MAX_TAGS`] of them, as close to
    /// [`MAX_JSON_BYTES`] as the keys and values allow, for the budgets' tests.
    pub(crate) fn at_the_limit() -> Tags {
        // 16 × ("20-byte key":"37-byte value"), 15 commas and the braces: 1,009 bytes.
        let mut tags = BTreeMap::new();
        for i in 0..MAX_TAGS {
            tags.insert(
                format!("key-{i:02}-{}", "k".repeat(13)),
                format!("{i:02}{}", "v".repeat(35)),
            );
        }
        Tags::new(tags).expect("within the limits")
    }

    #[test]
    fn the_tags_at_the_limit_come_within_a_few_bytes_of_the_total() {
        let tags = at_the_limit();
        assert_eq!(tags.len(), MAX_TAGS);
        assert!(tags.json_bytes() > MAX_JSON_BYTES - 64, "{}", tags.json_bytes());
    }

    #[test]
    fn flags_are_key_equals_value_and_a_bad_one_is_named() {
        let tags = Tags::parse(["role=db", "site=lisbon-2", "role=web", "url=a=b:c/d"]).unwrap();
        assert_eq!(
            tags.iter().collect::<Vec<_>>(),
            [("role", "web"), ("site", "lisbon-2"), ("url", "a=b:c/d")]
        );
        for (item, says) in [
            ("role", r#"the tag "role" is not KEY=VALUE"#),
            ("Role=db", r#"the tag "Role=db": the key "Role" is not"#),
            ("=db", r#"the tag "=db": the key "" is not"#),
            ("-x=db", r#"the key "-x" is not"#),
            ("role=", r#"the tag "role=": the value "" is not"#),
            ("role=a,b", r#"the value "a,b" is not"#),
            ("role=a b", r#"the value "a b" is not"#),
            ("role=a\u{7}", "the value"),
        ] {
            let err = Tags::parse([item]).unwrap_err();
            assert!(err.contains(says), "{item}: {err}");
        }
        let long_key = format!("{}=v", "k".repeat(MAX_KEY_BYTES + 1));
        assert!(Tags::parse([long_key.as_str()]).is_err());
        let long_value = format!("k={}", "é".repeat(MAX_VALUE_BYTES / 2 + 1));
        assert!(Tags::parse([long_value.as_str()]).is_err(), "bytes, not characters");
        let fine = format!("k={}", "é".repeat(MAX_VALUE_BYTES / 2));
        assert!(Tags::parse([fine.as_str()]).is_ok());
    }

    #[test]
    fn the_count_and_the_total_are_bounded() {
        let many: Vec<String> = (0..=MAX_TAGS).map(|i| format!("k{i}=v")).collect();
        let err = Tags::parse(many.iter().map(String::as_str)).unwrap_err();
        assert_eq!(err, "17 tags, more than the 16 a nara may carry");
        let big: Vec<String> = (0..MAX_TAGS)
            .map(|i| {
                format!(
                    "{}{i:02}={}",
                    "k".repeat(MAX_KEY_BYTES - 2),
                    "v".repeat(MAX_VALUE_BYTES)
                )
            })
            .collect();
        let err = Tags::parse(big.iter().map(String::as_str)).unwrap_err();
        assert!(err.contains("more than the 1024 a newspaper carries"), "{err}");
    }

    #[test]
    fn automatic_labels_fill_in_where_the_platform_says_and_an_explicit_tag_wins() {
        let env = |name: &str| match name {
            "FLY_REGION" => Some("ams".to_string()),
            "POD_NAMESPACE" => Some("nara".to_string()),
            _ => None,
        };
        let given = Tags::parse(["fly_region=lhr"]).unwrap();
        let (tags, skipped) = given.with_automatic(env);
        assert!(skipped.is_empty(), "{skipped:?}");
        assert_eq!(tags.get("fly_region"), Some("lhr"));
        assert_eq!(tags.get("k8s_namespace"), Some("nara"));
        assert_eq!(tags.get("os"), Some(std::env::consts::OS));
        assert_eq!(tags.get("arch"), Some(std::env::consts::ARCH));
        let (bare, _) = Tags::default().with_automatic(|_| None);
        assert_eq!(bare.len(), 2, "os and arch only: {bare:?}");
        let (_, skipped) = Tags::default().with_automatic(|name| (name == "FLY_REGION").then(|| "a b".into()));
        assert!(skipped[0].contains("fly_region"), "{skipped:?}");
        let full: Vec<String> = (0..MAX_TAGS).map(|i| format!("k{i}=v")).collect();
        let (tags, skipped) = Tags::parse(full.iter().map(String::as_str))
            .unwrap()
            .with_automatic(env);
        assert_eq!(
            (tags.len(), skipped.len()),
            (MAX_TAGS, 4),
            "explicit tags keep their room"
        );
    }

    #[test]
    fn only_ephemeral_true_is_ephemeral() {
        assert!(Tags::parse(["ephemeral=true"]).unwrap().is_ephemeral());
        assert!(!Tags::parse(["ephemeral=yes"]).unwrap().is_ephemeral());
        assert!(!NO_TAGS.is_ephemeral());
    }
}
