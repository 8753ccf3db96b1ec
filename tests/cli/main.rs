//! The binary as an operator runs it, one test binary: flags, environment, config file,
//! exit codes, signals and logs; `nara check-config` and `nara soul`; `nara rollout
//! wait` and `nara peers` against a fleet; systemd's notification and socket
//! activation; host health under a hardened /proc; and a Go nara's command line and
//! variables.

#[path = "../common/mod.rs"]
mod common;

mod binary;
mod check_config;
mod go_compat;
mod hidden_proc;
mod log_filter;
mod rollout;
mod soul;
mod systemd;
