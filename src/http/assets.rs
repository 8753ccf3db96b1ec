//! The embedded web bundle: the SPA at the root and the book under `docs/`.
//!
//! `include_dir` embeds the files; `build.rs` has already computed each one's ETag,
//! content type, immutability and precompressed variants, so looking an asset up is a
//! hash-map read and serving it hands hyper a `&'static` slice: no copy, no compression.

use include_dir::{Dir, include_dir};
use std::collections::HashMap;
use std::sync::OnceLock;

static BUNDLE: Dir<'static> = include_dir!("$NARA_WEB_DIST_RESOLVED");

/// What `build.rs` knows about one servable file.
struct AssetRecord {
    path: &'static str,
    content_type: &'static str,
    etag: &'static str,
    immutable: bool,
    br: bool,
    gz: bool,
}

static ASSET_TABLE: &[AssetRecord] = include!(concat!(env!("OUT_DIR"), "/asset_table.rs"));

/// A content coding the bundle holds precompressed variants in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Coding {
    /// The file as it is.
    Identity,
    /// Brotli (`br`).
    Brotli,
    Gzip,
}

impl Coding {
    /// The `Content-Encoding` value, if any.
    pub(crate) fn header_value(self) -> Option<&'static str> {
        match self {
            Coding::Identity => None,
            Coding::Brotli => Some("br"),
            Coding::Gzip => Some("gzip"),
        }
    }
}

/// One representation of an asset: its bytes and its strong ETag.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Variant {
    /// The bytes sent.
    pub(crate) body: &'static [u8],
    /// Its strong ETag, quoted.
    pub(crate) etag: &'static str,
    pub(crate) coding: Coding,
}

/// One servable file of the bundle.
#[derive(Debug)]
pub(crate) struct Asset {
    /// The `Content-Type` it is sent with.
    pub(crate) content_type: &'static str,
    /// Whether its name carries a content hash, so caches may keep it for a year.
    pub(crate) immutable: bool,
    identity: Variant,
    br: Option<Variant>,
    gz: Option<Variant>,
}

impl Asset {
    /// Whether any precompressed variant exists, i.e. whether responses must `Vary`.
    pub(crate) fn has_variants(&self) -> bool {
        self.br.is_some() || self.gz.is_some()
    }

    /// The representation for what the client accepts (see [`crate::http::encoding`]).
    pub(crate) fn variant(&self, accepts_br: bool, accepts_gzip: bool) -> Variant {
        match (self.br, self.gz) {
            (Some(br), _) if accepts_br => br,
            (_, Some(gz)) if accepts_gzip => gz,
            _ => self.identity,
        }
    }
}

/// Looks up a bundle path such as `index.html` or `docs/print.html`.
pub(crate) fn lookup(path: &str) -> Option<&'static Asset> {
    index().get(path)
}

/// How many files the bundle serves (variants not counted).
pub(crate) fn count() -> usize {
    index().len()
}

fn index() -> &'static HashMap<&'static str, Asset> {
    static INDEX: OnceLock<HashMap<&'static str, Asset>> = OnceLock::new();
    INDEX.get_or_init(|| ASSET_TABLE.iter().filter_map(build_asset).collect())
}

fn build_asset(record: &'static AssetRecord) -> Option<(&'static str, Asset)> {
    let bytes = |path: &str| BUNDLE.get_file(path).map(|f| f.contents());
    let tagged = |suffix: &str| -> &'static str {
        // Leaked once per asset at start-up: the table lives as long as the process.
        Box::leak(format!("\"{}{suffix}\"", record.etag).into_boxed_str())
    };
    let variant = |present: bool, ext: &str, coding: Coding| {
        if !present {
            return None;
        }
        bytes(&format!("{}.{ext}", record.path)).map(|body| Variant {
            body,
            etag: tagged(&format!("-{ext}")),
            coding,
        })
    };
    let identity = Variant {
        body: bytes(record.path)?,
        etag: tagged(""),
        coding: Coding::Identity,
    };
    Some((
        record.path,
        Asset {
            content_type: record.content_type,
            immutable: record.immutable,
            identity,
            br: variant(record.br, "br", Coding::Brotli),
            gz: variant(record.gz, "gz", Coding::Gzip),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundle_has_the_spa_and_the_book() {
        assert!(lookup("index.html").is_some());
        assert!(lookup("docs/index.html").is_some());
        assert!(lookup("docs/404.html").is_some());
    }

    #[test]
    fn build_metadata_and_variant_files_are_not_served_as_assets() {
        assert!(lookup(".nara/manifest.json").is_none());
        assert!(lookup("index.html.gz").is_none());
        assert!(lookup("index.html.br").is_none());
    }

    #[test]
    fn each_variant_has_its_own_etag() {
        let asset = lookup("index.html").expect("index.html is embedded");
        let identity = asset.variant(false, false);
        let br = asset.variant(true, true);
        let gz = asset.variant(false, true);
        assert_eq!(identity.coding, Coding::Identity);
        assert_eq!(br.coding, Coding::Brotli);
        assert_eq!(gz.coding, Coding::Gzip);
        assert_ne!(identity.etag, br.etag);
        assert_ne!(br.etag, gz.etag);
    }
}
