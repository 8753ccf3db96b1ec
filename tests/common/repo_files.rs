//! The repository's own files as tests read them: a file by its path from the
//! repository's root, and a chapter's `console` or `text` block, which the tests run
//! as written.

use std::path::Path;

/// The text of `path`, relative to the repository's root.
pub fn repo_file(path: &str) -> String {
    let full = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

/// The first ```` ```console ```` block of the file at `path` that contains `needle`.
pub fn console_block(path: &str, needle: &str) -> String {
    fenced_block(path, "console", needle)
}

/// The first block fenced as ```` ```LANGUAGE ```` in the file at `path` that contains
/// `needle`, without its fences.
pub fn fenced_block(path: &str, language: &str, needle: &str) -> String {
    repo_file(path)
        .split(&format!("```{language}\n"))
        .skip(1)
        .filter_map(|block| block.split("```").next())
        .find(|block| block.contains(needle))
        .unwrap_or_else(|| panic!("{path} has no {language} block with {needle:?}"))
        .to_string()
}
