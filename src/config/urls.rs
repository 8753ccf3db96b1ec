//! The URLs operators write in settings: the broker's (`--mqtt-url`, with the Go nara's
//! schemes) and the public one (`--public-url`). Their errors say what belongs where
//! (credentials in their own settings, never in a URL that `ps` or every visitor sees).

/// Parses `mqtt://HOST[:PORT]` or `mqtts://HOST[:PORT]` (ports default to 1883, 8883),
/// and the Go nara's spellings: `tcp://` for plain MQTT, `ssl://` and `tls://` for TLS
/// (whose certificate nara checks, where the Go nara does not).
pub(crate) fn parse_broker_url(text: &str) -> Result<(bool, String, u16), String> {
    const FORM: &str = "expected mqtt://HOST[:PORT] or mqtts://HOST[:PORT] (or tcp://, ssl://, tls://)";
    let (scheme, rest) = text.split_once("://").ok_or(FORM)?;
    let tls = match scheme {
        "mqtt" | "tcp" => false,
        "mqtts" | "ssl" | "tls" => true,
        _ => return Err(FORM.to_string()),
    };
    let rest = rest.trim_end_matches('/');
    if rest.contains('@') {
        return Err(
            "credentials do not belong in the URL (ps shows it); use --mqtt-user and --mqtt-password-file".into(),
        );
    }
    let default_port = if tls { 8883 } else { 1883 };
    let (host, port) = if let Some(bracketed) = rest.strip_prefix('[') {
        let (host, after) = bracketed.split_once(']').ok_or(FORM)?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().map_err(|_| FORM)?,
            None if after.is_empty() => default_port,
            None => return Err(FORM.to_string()),
        };
        (host.to_string(), port)
    } else {
        match rest.rsplit_once(':') {
            Some((host, port)) => (host.to_string(), port.parse().map_err(|_| FORM)?),
            None => (rest.to_string(), default_port),
        }
    };
    if host.is_empty() || host.contains('/') {
        return Err(FORM.to_string());
    }
    Ok((tls, host, port))
}

/// An `http://` or `https://` URL with a host, as people would follow it.
pub(crate) fn parse_public_url(text: &str) -> Result<String, &'static str> {
    const FORM: &str = "expected an http:// or https:// URL";
    let rest = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"))
        .ok_or(FORM)?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.contains('@') {
        return Err("credentials do not belong in the public URL: every nara on the plaza and every visitor sees it");
    }
    if host.is_empty() || text.len() > 512 || !text.chars().all(|c| c.is_ascii_graphic()) {
        return Err(FORM);
    }
    Ok(text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_urls_parse_with_default_ports() {
        assert_eq!(
            parse_broker_url("mqtt://broker").unwrap(),
            (false, "broker".into(), 1883)
        );
        assert_eq!(
            parse_broker_url("mqtts://broker").unwrap(),
            (true, "broker".into(), 8883)
        );
        assert_eq!(
            parse_broker_url("mqtt://127.0.0.1:1999/").unwrap(),
            (false, "127.0.0.1".into(), 1999)
        );
        assert_eq!(
            parse_broker_url("mqtt://[::1]:1999").unwrap(),
            (false, "::1".into(), 1999)
        );
    }

    #[test]
    fn the_go_naras_broker_schemes_parse_and_tls_is_tls() {
        assert_eq!(parse_broker_url("tcp://b:1883").unwrap(), (false, "b".into(), 1883));
        assert_eq!(parse_broker_url("ssl://b").unwrap(), (true, "b".into(), 8883));
        assert_eq!(parse_broker_url("tls://b:8884").unwrap(), (true, "b".into(), 8884));
        assert!(parse_broker_url("ws://b").is_err());
    }

    #[test]
    fn bad_broker_urls_are_refused() {
        for bad in [
            "broker:1883",
            "http://broker",
            "mqtt://",
            "mqtt://b:port",
            "mqtt://[::1",
        ] {
            assert!(parse_broker_url(bad).is_err(), "{bad}");
        }
        let err = parse_broker_url("mqtt://user:hunter2@broker").unwrap_err();
        assert!(
            err.contains("--mqtt-password-file") && !err.contains("hunter2"),
            "{err}"
        );
    }

    #[test]
    fn public_urls_are_http_or_https_with_a_host() {
        assert!(parse_public_url("https://kitchen.example.org/").is_ok());
        for bad in [
            "kitchen.example.org",
            "ftp://x",
            "https://",
            "https:///path",
            "http://a b",
            "https://u:p@kitchen.example.org/",
        ] {
            assert!(parse_public_url(bad).is_err(), "{bad}");
        }
    }
}
