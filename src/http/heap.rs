//! Memory a crowd took goes back to the system once the crowd has gone.
//!
//! Each open connection holds about 12 KiB (hyper's read and write buffers, the task,
//! the socket). glibc's allocator keeps freed memory for reuse and returns only the top
//! of each heap, so after thousands of clients leave, nara would hold their memory for
//! good: on a 256 MiB machine, one spike's worth lost to everything else. When the
//! number of open connections falls to a quarter of its peak, nara asks glibc to hand
//! back every free page (`malloc_trim`). Other C libraries (musl) return freed memory
//! themselves, and there this does nothing.

/// Below this peak a crowd is not worth a trim: its memory is small and soon reused.
const WORTH_TRIMMING: usize = 256;

/// Watches the open-connection count and trims when a crowd has thinned out.
#[derive(Debug, Default)]
pub(crate) struct CrowdWatch {
    peak: usize,
}

impl CrowdWatch {
    /// Notes the open-connection count; true when the heap should be trimmed now.
    pub(crate) fn observe(&mut self, open: usize) -> bool {
        self.peak = self.peak.max(open);
        if self.peak >= WORTH_TRIMMING && open * 4 <= self.peak {
            self.peak = open;
            return true;
        }
        false
    }
}

/// Returns free heap pages to the system, off the async threads (it locks each arena
/// in turn and may take milliseconds on a large heap).
pub(crate) fn trim() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    tokio::task::spawn_blocking(|| {
        // SAFETY: malloc_trim takes no pointers and is safe to call at any time from
        // any thread; glibc serialises it with every other allocator call.
        #[expect(unsafe_code, reason = "malloc_trim(3) has no safe wrapper")]
        let released = unsafe { libc::malloc_trim(0) };
        tracing::debug!(released = released == 1, "trimmed the heap after a crowd left");
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_crowd_is_trimmed_once_it_falls_to_a_quarter_of_its_peak() {
        let mut watch = CrowdWatch::default();
        assert!((0..=8000).all(|open| !watch.observe(open)), "growing never trims");
        assert!(!watch.observe(2001));
        assert!(watch.observe(2000), "a quarter of the peak");
        assert!(
            !watch.observe(1999),
            "the next trim waits for a quarter of the new peak"
        );
        assert!(watch.observe(500));
        assert!(watch.observe(125));
        assert!(!watch.observe(0), "a crowd of 125 is not worth a trim");
    }
}
