//! What the repository's files promise, one test binary: the house rules of `src/`,
//! the book and README against the code (their demo and deploy recipes run as
//! written, and the Prometheus configuration it gives as promtool reads it), the web
//! UI's size budget, and the check scripts the flake runs (the oracle, the OCI image's
//! config) able to fail.

#[path = "../common/mod.rs"]
mod common;

mod architecture;
mod docs;
mod oci_config;
mod oracle;
mod prometheus;
mod recipes;
mod web_budget;
