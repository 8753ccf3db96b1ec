//! One nara (`/api/peers/{name}`) and the list filtered
//! (`/api/peers?status=…&version=…&tag=…`).
//!
//! A lookup costs one map lookup under the view's lock, whatever the view's size. A
//! filtered list is serialized for its request alone, within the bounds of
//! [`FilteredLists`]; the unfiltered list stays the shared one.

use crate::http::filtered::{self, FilteredLists};
use crate::http::hangup::Hangup;
use crate::plaza::Plaza;
use crate::plaza::identity::validate_name;
use crate::plaza::tags;
use crate::plaza::view::{Peer, Status};
use bytes::Bytes;
use http::StatusCode;
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};

/// A JSON answer: its status, its body, and for a 503 how long to wait.
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) body: Bytes,
    pub(crate) retry_after: Option<u64>,
}

impl Answer {
    pub(crate) fn ok(body: impl Into<Bytes>) -> Answer {
        Answer {
            status: StatusCode::OK,
            body: body.into(),
            retry_after: None,
        }
    }

    /// `{"error": message}` with `status`, and more members if the caller has them.
    pub(crate) fn error(status: StatusCode, message: &str, more: &[(&str, &str)]) -> Answer {
        let mut body = serde_json::Map::new();
        body.insert("error".into(), message.into());
        for (key, value) in more {
            body.insert((*key).into(), (*value).into());
        }
        Answer {
            status,
            body: serde_json::Value::Object(body).to_string().into(),
            retry_after: None,
        }
    }
}

/// The most of a request's own words an error repeats back.
const ECHO_CHARS: usize = 64;

/// `text` as an error repeats it: at most [`ECHO_CHARS`] characters.
pub(crate) fn echo(text: &str) -> String {
    match text.char_indices().nth(ECHO_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

/// The nara name in a path segment (`raw`, as the request wrote it), or the 400 that
/// says why it is none; `route` names the path for the error (`/api/peers/NAME`).
pub(crate) fn name_in_path(raw: &str, route: &str) -> Result<String, Answer> {
    let name = percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .map_err(|_| {
            Answer::error(
                StatusCode::BAD_REQUEST,
                &format!("{route}: the name is not UTF-8 once decoded"),
                &[],
            )
        })?
        .into_owned();
    if name.is_empty() {
        return Err(Answer::error(
            StatusCode::BAD_REQUEST,
            &format!("{route}: the name is missing"),
            &[],
        ));
    }
    validate_name(&name).map_err(|rule| {
        let shown = echo(&name);
        Answer::error(
            StatusCode::BAD_REQUEST,
            &format!("{shown:?} is not a nara name: {rule}"),
            &[("name", &shown)],
        )
    })
}

/// `GET /api/peers/{name}`: the nara as `/api/peers` lists it, or a 404 naming it.
pub(crate) fn one(plaza: &Plaza, raw: &str) -> Answer {
    let name = match name_in_path(raw, "/api/peers/NAME") {
        Ok(name) => name,
        Err(bad) => return bad,
    };
    match plaza.peer(&name) {
        Some(peer) => Answer::ok(serde_json::to_vec(&peer).expect("a peer serializes")),
        None => unknown(&name),
    }
}

/// The 404 for a name this nara does not know.
pub(crate) fn unknown(name: &str) -> Answer {
    Answer::error(
        StatusCode::NOT_FOUND,
        &format!("no nara named {name:?} is known to this nara"),
        &[("name", name)],
    )
}

/// Every status, by the name the API gives it. The match below is exhaustive, so a new
/// status cannot be forgotten here.
const STATUSES: [Status; 4] = [Status::Online, Status::Suspect, Status::Offline, Status::Missing];

fn status_name(status: Status) -> &'static str {
    match status {
        Status::Online => "ONLINE",
        Status::Suspect => "SUSPECT",
        Status::Offline => "OFFLINE",
        Status::Missing => "MISSING",
    }
}

fn status_names() -> String {
    let names: Vec<&str> = STATUSES.iter().map(|s| status_name(*s)).collect();
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => names.concat(),
    }
}

/// Which naras a filtered list keeps: any of `statuses` (all when empty), any of
/// `versions` (all when empty), and for each key in `tags`, any of its values (`None`:
/// tagged with that key at all).
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Filter {
    statuses: Vec<Status>,
    versions: HashSet<String>,
    tags: BTreeMap<String, Option<HashSet<String>>>,
}

impl Filter {
    /// The filter a query string asks for (`status=ONLINE,MISSING&version=0.2.0&tag=role:db`,
    /// each parameter repeatable, its values comma-separated, a status in any case; a
    /// tag `KEY:VALUE`, or `KEY` for any value), or the error naming the parameter or
    /// value at fault. Values of one parameter (of one tag key) are alternatives; the
    /// parameters (the tag keys) must all hold.
    pub(crate) fn parse(query: &str) -> Result<Filter, String> {
        let mut filter = Filter::default();
        for (key, values) in form_urlencoded::parse(query.as_bytes()) {
            for value in values.split(',').map(str::trim) {
                match key.as_ref() {
                    "status" => {
                        let status = STATUSES
                            .into_iter()
                            .find(|s| status_name(*s).eq_ignore_ascii_case(value))
                            .ok_or_else(|| {
                                format!("status={:?} is not a status: expected {}", echo(value), status_names())
                            })?;
                        if !filter.statuses.contains(&status) {
                            filter.statuses.push(status);
                        }
                    }
                    "version" if value.is_empty() => {
                        return Err("version= names no version: expected one such as version=0.2.0".into());
                    }
                    "version" => {
                        filter.versions.insert(value.to_string());
                    }
                    "tag" => filter.add_tag(value)?,
                    other => {
                        return Err(format!(
                            "unknown parameter {:?}: /api/peers takes status, version and tag",
                            echo(other)
                        ));
                    }
                }
            }
        }
        Ok(filter)
    }

    /// `tag=KEY:VALUE` or `tag=KEY`, checked by the tags' own rules.
    fn add_tag(&mut self, value: &str) -> Result<(), String> {
        let (key, wanted) = match value.split_once(':') {
            Some((key, wanted)) => (key, Some(wanted)),
            None => (value, None),
        };
        if let Some(problem) = tags::key_problem(key).or_else(|| wanted.and_then(tags::value_problem)) {
            return Err(format!(
                "tag={:?} is not KEY:VALUE or KEY, such as tag=role:db: {}",
                echo(value),
                echo(&problem)
            ));
        }
        let values = self.tags.entry(key.to_string()).or_insert_with(|| Some(HashSet::new()));
        match (values.as_mut(), wanted) {
            (Some(values), Some(wanted)) => {
                values.insert(wanted.to_string());
            }
            _ => *values = None,
        }
        Ok(())
    }

    fn keeps(&self, peer: &Peer) -> bool {
        (self.statuses.is_empty() || self.statuses.contains(&peer.status))
            && (self.versions.is_empty() || self.versions.contains(&peer.version))
            && self
                .tags
                .iter()
                .all(|(key, values)| match (peer.tags.get(key), values) {
                    (None, _) => false,
                    (Some(_), None) => true,
                    (Some(value), Some(values)) => values.contains(value),
                })
    }
}

/// `{"peers":[…]}`, as the shared list writes it.
#[derive(Serialize)]
struct List<'a> {
    peers: &'a [Peer],
}

/// `GET /api/peers?…`: the naras the query keeps, serialized for this request within
/// the bounds of `lists` (`hangup` closes this request's connection if its client stops
/// reading); a 400 naming a bad parameter, or a 503 past the bounds.
pub(crate) fn filtered(plaza: &Plaza, lists: &FilteredLists, query: &str, hangup: Option<Hangup>) -> Answer {
    let filter = match Filter::parse(query) {
        Ok(filter) => filter,
        Err(why) => return Answer::error(StatusCode::BAD_REQUEST, &why, &[]),
    };
    let place = match lists.admit(hangup) {
        Ok(place) => place,
        Err(refused) => {
            let mut answer = Answer::error(
                StatusCode::SERVICE_UNAVAILABLE,
                &format!(
                    "{}; try again in a moment, or GET /api/peers unfiltered, which every reader shares",
                    refused.0
                ),
                &[],
            );
            answer.retry_after = Some(filtered::RETRY_AFTER_S);
            return answer;
        }
    };
    let peers = plaza.peers_where(|peer| filter.keeps(peer));
    let json = serde_json::to_vec(&List { peers: &peers }).expect("a list of peers serializes");
    Answer::ok(place.hold(json))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_names_statuses_in_any_case_and_versions_repeated_or_comma_separated() {
        let filter = Filter::parse("status=online,MISSING&version=0.2.0&version=0.1.0%2C0.3.0&status=Online").unwrap();
        assert_eq!(filter.statuses, vec![Status::Online, Status::Missing]);
        let versions: HashSet<String> = ["0.1.0", "0.2.0", "0.3.0"].map(String::from).into();
        assert_eq!(filter.versions, versions);
        assert_eq!(Filter::parse("").unwrap(), Filter::default());
        assert_eq!(
            Filter::parse("status=ONLINE,+OFFLINE").unwrap().statuses,
            vec![Status::Online, Status::Offline],
            "a space after a comma is allowed"
        );
    }

    #[test]
    fn a_tag_filter_keeps_any_value_of_a_key_and_every_key_must_hold() {
        let tagged = |pairs: &[&str]| {
            let now = std::time::SystemTime::now();
            Peer {
                name: "n".into(),
                id: String::new(),
                public_key: String::new(),
                status: Status::Online,
                version: "0.2.0".into(),
                revision: String::new(),
                public_url: None,
                version_history: Vec::new(),
                tags: crate::plaza::tags::Tags::parse(pairs.iter().copied()).unwrap(),
                host: Default::default(),
                uptime_s: 0,
                first_seen: now,
                last_seen: now,
                is_self: false,
                restarts: Default::default(),
            }
        };
        let db_eu = tagged(&["role=db", "region=eu"]);
        let web_eu = tagged(&["role=web", "region=eu"]);
        let db_us = tagged(&["role=db", "region=us"]);
        let bare = tagged(&[]);
        let kept = |query: &str| {
            let filter = Filter::parse(query).unwrap();
            [&db_eu, &web_eu, &db_us, &bare].map(|peer| filter.keeps(peer))
        };
        assert_eq!(kept("tag=role:db"), [true, false, true, false]);
        assert_eq!(kept("tag=role:db,role:web&tag=region:eu"), [true, true, false, false]);
        assert_eq!(kept("tag=role:db&tag=region:eu"), [true, false, false, false]);
        assert_eq!(kept("tag=region"), [true, true, true, false], "a key alone: any value");
        assert_eq!(kept("tag=region:us,region"), [true, true, true, false]);
        assert_eq!(kept("tag=url:a%3Ab"), [false; 4], "a value may hold a colon");
        assert_eq!(
            Filter::parse("tag=url:a%3Ab").unwrap().tags["url"],
            Some(HashSet::from(["a:b".to_string()]))
        );
    }

    #[test]
    fn bad_parameters_and_values_are_named() {
        for (query, says) in [
            (
                "statuss=ONLINE",
                r#"unknown parameter "statuss": /api/peers takes status, version and tag"#,
            ),
            (
                "status=ONLIN",
                r#"status="ONLIN" is not a status: expected ONLINE, SUSPECT, OFFLINE or MISSING"#,
            ),
            ("status=", r#"status="" is not a status"#),
            ("status=ONLINE,", r#"status="" is not a status"#),
            ("version=", "version= names no version"),
            ("version=1.0&x", r#"unknown parameter "x""#),
            ("tag=Role:db", r#"tag="Role:db" is not KEY:VALUE or KEY"#),
            ("tag=role:", r#"tag="role:" is not KEY:VALUE or KEY"#),
            ("tag=", r#"tag="" is not KEY:VALUE or KEY"#),
        ] {
            let error = Filter::parse(query).unwrap_err();
            assert!(error.starts_with(says), "{query}: {error}");
        }
        let long = format!("status={}", "x".repeat(500));
        assert!(
            Filter::parse(&long).unwrap_err().len() < 200,
            "a long value is not echoed whole"
        );
    }

    #[test]
    fn a_name_in_a_path_is_decoded_and_checked() {
        assert_eq!(name_in_path("kitchen", "/r").ok(), Some("kitchen".to_string()));
        assert_eq!(name_in_path("kit%63hen", "/r").ok(), Some("kitchen".to_string()));
        for (raw, says) in [
            ("", "/r: the name is missing"),
            ("a%20b", r#""a b" is not a nara name: expected 1 to 64 letters"#),
            ("a/b", r#""a/b" is not a nara name"#),
            ("%ff", "/r: the name is not UTF-8"),
        ] {
            let answer = name_in_path(raw, "/r").err().unwrap();
            assert_eq!(answer.status, StatusCode::BAD_REQUEST);
            let body: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
            assert!(body["error"].as_str().unwrap().starts_with(says), "{raw}: {body}");
        }
    }
}
