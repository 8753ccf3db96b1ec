//! The open-file limit: every connection is a descriptor, and the soft limit most
//! supervisors hand out (1024 under systemd) would cap nara near a thousand clients.
//! At start nara raises its soft limit to the hard one, as Go's runtime and nginx's
//! `worker_rlimit_nofile` do, and says in its start-up line what it got.

/// Below this many descriptors a busy nara turns visitors away; say what to set.
const ENOUGH: u64 = 4096;

/// What start-up found and did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenFiles {
    /// The soft limit nara runs with.
    pub(crate) limit: u64,
    /// The soft limit it was started with.
    pub(crate) started_with: u64,
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit (capped by macOS's
/// `kern.maxfilesperproc`). glibc and musl set it through `prlimit64`, which systemd's
/// `~@resources` filter lets through (it blocks the older `setrlimit`).
pub(crate) fn raise() -> std::io::Result<OpenFiles> {
    let (started_with, _hard) = rlimit::Resource::NOFILE.get()?;
    let limit = rlimit::increase_nofile_limit(u64::MAX)?;
    Ok(OpenFiles { limit, started_with })
}

/// The soft limit this process runs with now.
pub(crate) fn soft_limit() -> Option<u64> {
    rlimit::Resource::NOFILE.get().ok().map(|(soft, _hard)| soft)
}

/// Raises the limit and logs, once, anything an operator should act on.
pub fn raise_and_report() -> Option<OpenFiles> {
    match raise() {
        Ok(found) => {
            if found.limit < ENOUGH {
                tracing::warn!(
                    limit = found.limit,
                    "the open-file limit is {} and the hard limit allows no more, so nara can hold fewer than {} connections; raise it: LimitNOFILE=65536 (systemd), `ulimit -Hn 65536`, or `docker run --ulimit nofile=65536`",
                    found.limit,
                    found.limit
                );
            }
            Some(found)
        }
        Err(err) => {
            tracing::warn!(
                error = %err,
                "cannot raise the open-file limit; nara keeps the one it was started with (raise it with LimitNOFILE=65536 or `ulimit -n 65536`)"
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_soft_limit_ends_at_the_hard_limit() {
        let found = raise().unwrap();
        let (soft, hard) = rlimit::Resource::NOFILE.get().unwrap();
        assert_eq!(soft, found.limit);
        assert!(found.limit >= found.started_with);
        if cfg!(target_os = "linux") {
            assert_eq!(soft, hard, "Linux has no per-process cap below the hard limit");
        }
    }
}
