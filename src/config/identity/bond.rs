//! What to tell an operator whose soul was minted for another name than the one this
//! nara runs under. The soul carries its name only as a keyed hash (the Go nara's
//! format, which we keep), so nara cannot read the name back; it can only try the
//! names a platform suggests (a Fly app's name, a Kubernetes Deployment's name in a
//! pod's hostname) and say which one fits.

use super::NameSource;
use super::name::NAME;
use crate::config::layering::Environment;
use crate::plaza::identity::{Soul, validate_name};

/// The variable a Fly Machine carries its app's name in.
const FLY_APP_NAME: &str = "FLY_APP_NAME";

/// `None` when `soul` was minted for `name`; else one sentence that says the name is
/// wrong, where it came from (`name_source`), and which name to set when a candidate
/// fits.
pub(crate) fn advice(soul: &Soul, name: &str, name_source: &NameSource, env: &Environment) -> Option<String> {
    if soul.is_bonded_to(name) {
        return None;
    }
    let why = if name_source.is_the_machines() {
        "; a container's, pod's or Fly Machine's hostname changes with every deploy, so set the name"
    } else {
        ""
    };
    let fitting = candidates(name, env).into_iter().find(|c| soul.is_bonded_to(c));
    let variable = NAME.env[0];
    Some(match fitting {
        Some(minted_for) => format!(
            "this soul was minted for the name {minted_for:?}, but this nara runs as {name:?} (from {name_source}): \
             start it with --name {minted_for} ({variable}={minted_for}){why}; until then it is another nara, with \
             another ID, and processes sharing the soul do not become twins"
        ),
        None => format!(
            "this soul was not minted for the name {name:?} (from {name_source}): start nara with the name given to \
             `nara soul new --name` (--name NAME or {variable}=NAME){why}; until then it is another nara, with another \
             ID, and processes sharing the soul do not become twins"
        ),
    })
}

/// Names a platform suggests: the Fly app's, and a Deployment's from a pod's hostname
/// (`nara-6b7c9d8f5-abcde` → `nara`) or a StatefulSet's (`nara-0` → `nara`).
fn candidates(name: &str, env: &Environment) -> Vec<String> {
    let mut names = Vec::new();
    if let Some(app) = env.get(FLY_APP_NAME) {
        names.push(app.to_string());
    }
    let parts: Vec<&str> = name.split('-').collect();
    for drop in [2, 1] {
        if parts.len() > drop {
            names.push(parts[..parts.len() - drop].join("-"));
        }
    }
    names.retain(|n| validate_name(n).is_ok());
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::layering::Origin;

    #[test]
    fn a_bonded_soul_needs_no_advice() {
        let soul = Soul::mint("kitchen").unwrap();
        assert_eq!(
            advice(
                &soul,
                "kitchen",
                &NameSource::Given(Origin::Flag("--name".into())),
                &Environment::default()
            ),
            None
        );
    }

    #[test]
    fn a_pods_hostname_points_at_the_deployments_name() {
        let soul = Soul::mint("k8s-nara").unwrap();
        let text = advice(
            &soul,
            "k8s-nara-6b7c9d8f5-abcde",
            &NameSource::Hostname,
            &Environment::default(),
        )
        .unwrap();
        assert!(text.contains("minted for the name \"k8s-nara\""), "{text}");
        assert!(text.contains("NARA_NAME=k8s-nara"), "{text}");
        assert!(text.contains("changes with every deploy"), "{text}");
    }

    #[test]
    fn a_fly_machine_points_at_the_apps_name() {
        let soul = Soul::mint("fly-ams").unwrap();
        let env = Environment::from_pairs([(FLY_APP_NAME, "fly-ams")]);
        let text = advice(&soul, "3d8d9e1b2c4e58", &NameSource::Hostname, &env).unwrap();
        assert!(text.contains("--name fly-ams"), "{text}");
    }

    #[test]
    fn without_a_fitting_candidate_it_says_where_the_name_came_from() {
        let soul = Soul::mint("garage").unwrap();
        let text = advice(
            &soul,
            "kitchen",
            &NameSource::Given(Origin::Env("NARA_NAME")),
            &Environment::default(),
        )
        .unwrap();
        assert!(
            text.contains("not minted for the name \"kitchen\" (from NARA_NAME)"),
            "{text}"
        );
        assert!(!text.contains("changes with every deploy"), "{text}");
    }
}
