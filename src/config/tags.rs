//! The tags' setting: `--tag KEY=VALUE`, declared here and resolved into the plaza's
//! [`Tags`] with the automatic labels the platform gives (the limits and the labels are
//! the tags' own, in `plaza::tags`).

use super::layering::{ConfigError, Report, Setting, Sources, list_items};
use crate::plaza::tags::Tags;

/// `--tag`: labels signed into this nara's newspaper.
pub(crate) static TAG: Setting = Setting::list("tag", "tag", "KEY=VALUE")
    .env(&["NARA_TAG"])
    .help("Sign this label into the newspaper, for the API, the web UI and the fleet metrics to filter and group by (e.g. role=db). Repeatable, up to 16; in the variable, separated by spaces. A key is 1 to 32 of a-z, 0-9, '_', '.', '-'; a value 1 to 64 bytes without spaces, commas, quotes or backslashes. fly_region, k8s_namespace, os and arch are filled in where the platform says, unless given; ephemeral=true keeps this nara's departures from running hooks");

/// The tags given, with the automatic labels; a label left out (over the limits, or
/// not a valid value) is a warning.
pub(crate) fn resolve(sources: &Sources, report: &mut Report, warnings: &mut Vec<String>) -> Result<Tags, ConfigError> {
    let given = sources
        .resolve(&TAG, report, |text| Tags::parse(list_items(text)))?
        .map(|r| r.value)
        .unwrap_or_default();
    let (tags, skipped) = given.with_automatic(|name| sources.env().get(name).map(String::from));
    warnings.extend(skipped);
    Ok(tags)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve_from(args: &[&str], env: &[(&str, &str)], file: Option<&str>) -> Result<Tags, ConfigError> {
        let sources = crate::config::sources_for_test(args, env, file)?;
        resolve(&sources, &mut Report::default(), &mut Vec::new())
    }

    #[test]
    fn tags_come_from_repeated_flags_a_spaced_variable_or_an_array_in_the_file() {
        let flags = resolve_from(&["nara", "--tag", "role=db", "--tag", "site=lisbon"], &[], None).unwrap();
        assert_eq!(flags.get("role"), Some("db"));
        assert_eq!(flags.get("site"), Some("lisbon"));
        let env = resolve_from(&["nara"], &[("NARA_TAG", "role=db site=lisbon")], None).unwrap();
        assert_eq!(env, flags);
        let file = resolve_from(&["nara"], &[], Some("tag = [\"role=db\", \"site=lisbon\"]\n")).unwrap();
        assert_eq!(file, flags);
        let fly = resolve_from(&["nara"], &[("FLY_REGION", "ams")], None).unwrap();
        assert_eq!(fly.get("fly_region"), Some("ams"));
        let pinned = resolve_from(&["nara", "--tag", "os=plan9"], &[], None).unwrap();
        assert_eq!(pinned.get("os"), Some("plan9"), "an explicit tag wins");
    }

    #[test]
    fn a_bad_tag_is_named_with_the_flag_or_variable_that_gave_it() {
        let err = resolve_from(&["nara", "--tag", "role=db", "--tag", "Site=x"], &[], None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("for --tag") && err.contains(r#"the tag "Site=x""#),
            "{err}"
        );
        let err = resolve_from(&["nara"], &[("NARA_TAG", "role")], None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("for NARA_TAG") && err.contains("KEY=VALUE"), "{err}");
        let many: Vec<String> = (0..17).map(|i| format!("--tag=k{i}=v")).collect();
        let mut args = vec!["nara"];
        args.extend(many.iter().map(String::as_str));
        let err = resolve_from(&args, &[], None).unwrap_err().to_string();
        assert!(err.contains("for --tag: 17 tags"), "{err}");
    }
}
