//! What `nara check-config` prints: each setting's value (secrets redacted) and where
//! it came from, recorded by the resolvers as they decide.

use super::declare::{Setting, Shape, list_items};
use std::fmt;

/// One setting as resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Line {
    pub(crate) key: &'static str,
    /// The value as shown: quoted, a list of quoted items, `<redacted>`, or `unset`.
    pub(crate) shown: String,
    /// Where the value came from, or what happens at start.
    pub(crate) source: String,
}

/// The settings in the order they were resolved.
#[derive(Debug, Default, Clone)]
pub struct Report {
    lines: Vec<Line>,
}

impl Report {
    /// Records `setting` with `value` (shown `<redacted>` if the setting is secret, and
    /// `unset` if there is none) and its `source`. Recording a setting again replaces
    /// its line in place: a resolver may learn more after the first lookup (a `PORT`
    /// fallback, a soul to be read from a file).
    pub(crate) fn record(&mut self, setting: &Setting, value: Option<&str>, source: impl fmt::Display) {
        let shown = match value {
            None => "unset".to_string(),
            Some(_) if setting.secret => "<redacted>".to_string(),
            // Its items, as the file's array writes them.
            Some(value) if setting.shape == Shape::List => format!("{:?}", list_items(value).collect::<Vec<_>>()),
            Some(value) => format!("{value:?}"),
        };
        let line = Line {
            key: setting.key,
            shown,
            source: source.to_string(),
        };
        match self.lines.iter_mut().find(|l| l.key == setting.key) {
            Some(earlier) => *earlier = line,
            None => self.lines.push(line),
        }
    }

    /// The lines recorded so far.
    #[cfg(test)]
    fn lines(&self) -> &[Line] {
        &self.lines
    }
}

impl fmt::Display for Report {
    /// One aligned line per setting: `key = value  (source)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let key_width = self.lines.iter().map(|l| l.key.len()).max().unwrap_or(0);
        let value_width = self.lines.iter().map(|l| l.shown.len()).max().unwrap_or(0).min(40);
        for line in &self.lines {
            writeln!(
                f,
                "{:key_width$} = {:value_width$}  ({})",
                line.key, line.shown, line.source
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recording_a_setting_again_replaces_its_line_in_place() {
        static ADDR: Setting = Setting::value("http_addr", "http-addr", "ADDR");
        static NAME: Setting = Setting::value("name", "name", "NAME");
        let mut report = Report::default();
        report.record(&ADDR, Some(":8080"), "the default of --http-addr");
        report.record(&NAME, None, "the hostname");
        report.record(&ADDR, Some(":9000"), "PORT");
        let lines: Vec<(&str, &str, &str)> = report
            .lines()
            .iter()
            .map(|l| (l.key, l.shown.as_str(), l.source.as_str()))
            .collect();
        assert_eq!(
            lines,
            [("http_addr", "\":9000\"", "PORT"), ("name", "unset", "the hostname")]
        );
    }
}
