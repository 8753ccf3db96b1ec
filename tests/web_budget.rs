//! The web UI stays small: its JavaScript and CSS together, gzipped as served, fit in
//! 50 KB. (The book's assets are mdBook's and not counted.)

const BUDGET_BYTES: u64 = 50 * 1024;

#[test]
fn the_spa_javascript_and_css_fit_the_gzipped_budget() {
    let assets = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("web/dist/assets");
    let mut total = 0;
    let mut counted = Vec::new();
    for entry in std::fs::read_dir(&assets).expect("web/dist/assets exists (make web)") {
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
