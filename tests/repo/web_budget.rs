//! The web UI stays small: its JavaScript and CSS together, gzipped as served, fit in
//! 50 KB. (The book's assets are mdBook's and not counted.) The bundle measured is the
//! one build.rs embedded: `web/dist` in a checkout, `NARA_WEB_DIST` under Nix.

const BUDGET_BYTES: u64 = 50 * 1024;

#[test]
fn the_spa_javascript_and_css_fit_the_gzipped_budget() {
    let assets = std::path::Path::new(env!("NARA_WEB_DIST_RESOLVED")).join("assets");
    let mut total = 0;
    let mut counted = Vec::new();
    for entry in std::fs::read_dir(&assets).unwrap_or_else(|e| panic!("{}: {e}", assets.display())) {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with(".js.gz") || name.ends_with(".css.gz") {
            total += std::fs::metadata(&path).unwrap().len();
            counted.push(name);
        }
    }
    assert!(
        counted.iter().any(|n| n.ends_with(".js.gz")),
        "no gzipped script found: {counted:?}"
    );
    assert!(
        total <= BUDGET_BYTES,
        "the SPA is {total} bytes gzipped ({counted:?}), over {BUDGET_BYTES}"
    );
}
