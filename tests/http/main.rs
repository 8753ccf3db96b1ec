//! The HTTP surface, one test binary: the contract of every route, `/api/events` with
//! its bounds and the attacks on them, the bound on filtered peer lists, hostile and
//! odd requests over raw TCP, graceful shutdown (in-process and under load), crowds at
//! the host's descriptor limits, and `/metrics` and `/metrics/peers` as Prometheus
//! reads them.

#[path = "../common/mod.rs"]
mod common;

mod crowds;
mod event_streams;
mod filtered_lists;
mod fleet_metrics;
mod hostile;
mod http_contract;
mod load_shutdown;
mod promtool;
mod shutdown;
mod stream_attacks;
