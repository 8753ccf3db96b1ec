//! The HTTP surface, one test binary: the contract of every route, `/api/events` and
//! its bounds, the bound on filtered peer lists, hostile and odd requests over raw TCP, graceful shutdown (in-process and
//! under load), crowds at the host's descriptor limits, and `/metrics` as Prometheus
//! reads it.

#[path = "../common/mod.rs"]
mod common;

mod crowds;
mod event_streams;
mod filtered_lists;
mod hostile;
mod http_contract;
mod load_shutdown;
mod promtool;
mod shutdown;
