//! `Accept-Encoding` negotiation (RFC 9110 §12.5.3) for the precompressed variants.
//!
//! Only the question "may I send br / gzip?" matters to nara, so this answers exactly
//! that, honouring q-values, `q=0` refusals and the `*` wildcard.

/// Which of nara's precompressed codings the client accepts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Accepted {
    /// Brotli may be sent.
    pub(crate) br: bool,
    /// gzip may be sent.
    pub(crate) gzip: bool,
}

/// Reads every `Accept-Encoding` header value of a request.
pub(crate) fn negotiate<'a>(values: impl IntoIterator<Item = &'a str>) -> Accepted {
    let mut br = None;
    let mut gzip = None;
    let mut wildcard = None;
    for value in values {
        for item in value.split(',') {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q=").or(p.trim().strip_prefix("Q=")))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            let allowed = q > 0.0;
            match coding.as_str() {
                "br" => br = Some(allowed),
                "gzip" | "x-gzip" => gzip = Some(allowed),
                "*" => wildcard = Some(allowed),
                _ => {}
            }
        }
    }
    Accepted {
        br: br.or(wildcard).unwrap_or(false),
        gzip: gzip.or(wildcard).unwrap_or(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepted(header: &str) -> Accepted {
        negotiate([header])
    }

    #[test]
    fn plain_lists_accept_what_they_name() {
        assert_eq!(accepted("gzip, deflate, br"), Accepted { br: true, gzip: true });
        assert_eq!(accepted("gzip"), Accepted { br: false, gzip: true });
        assert_eq!(accepted("br"), Accepted { br: true, gzip: false });
    }

    #[test]
    fn q_zero_refuses_a_coding() {
        assert_eq!(accepted("br;q=0, gzip"), Accepted { br: false, gzip: true });
        assert_eq!(accepted("br; q=0.0, gzip;q=0"), Accepted::default());
    }

    #[test]
    fn wildcard_covers_codings_not_named() {
        assert_eq!(accepted("*"), Accepted { br: true, gzip: true });
        assert_eq!(accepted("*;q=0.5, br;q=0"), Accepted { br: false, gzip: true });
        assert_eq!(accepted("gzip;q=0, *"), Accepted { br: true, gzip: false });
    }

    #[test]
    fn empty_or_identity_means_no_compression() {
        assert_eq!(accepted(""), Accepted::default());
        assert_eq!(accepted("identity"), Accepted::default());
    }

    #[test]
    fn several_header_lines_combine() {
        assert_eq!(negotiate(["gzip", "br"]), Accepted { br: true, gzip: true });
    }

    #[test]
    fn case_and_spacing_do_not_matter() {
        assert_eq!(accepted("  GZIP ;Q=1 ,BR"), Accepted { br: true, gzip: true });
    }
}
