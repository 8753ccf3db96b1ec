//! The standard `process_*` metrics, with a start time that holds under a hardened unit.
//!
//! The prometheus crate's collector derives `process_start_time_seconds` from the boot
//! time in `/proc/stat`, which systemd's `ProcSubset=pid` hides, and then reports 0.
//! nara knows when it started by its own wall clock, so that series comes from there and
//! the rest (CPU, memory, descriptors, threads; Linux only) from the crate's collector.

use crate::start_time::StartTime;
use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{Gauge, Opts};
use std::time::UNIX_EPOCH;

const START_TIME: &str = "process_start_time_seconds";
/// The `process_*` collector with nara's own start time.
pub(crate) struct ProcessMetrics {
    start_time: Gauge,
    #[cfg(target_os = "linux")]
    from_proc: prometheus::process_collector::ProcessCollector,
    descs: Vec<Desc>,
}

impl ProcessMetrics {
    /// A collector reporting `started` as the start time.
    pub(crate) fn new(started: &StartTime) -> Self {
        let start_time = Gauge::with_opts(Opts::new(
            START_TIME,
            "Start time of the process since unix epoch in seconds.",
        ))
        .expect("valid metric");
        start_time.set(
            started
                .wall()
                .duration_since(UNIX_EPOCH)
                .map_or(0.0, |since| since.as_secs_f64()),
        );
        let mut descs: Vec<Desc> = start_time.desc().into_iter().cloned().collect();
        #[cfg(target_os = "linux")]
        let from_proc = prometheus::process_collector::ProcessCollector::for_self();
        #[cfg(target_os = "linux")]
        descs.extend(
            from_proc
                .desc()
                .into_iter()
                .filter(|d| d.fq_name != START_TIME)
                .cloned(),
        );
        ProcessMetrics {
            start_time,
            #[cfg(target_os = "linux")]
            from_proc,
            descs,
        }
    }
}

impl Collector for ProcessMetrics {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        #[cfg_attr(not(target_os = "linux"), allow(unused_mut))]
        let mut families = self.start_time.collect();
        #[cfg(target_os = "linux")]
        families.extend(
            self.from_proc
                .collect()
                .into_iter()
                .filter(|family| family.name() != START_TIME),
        );
        families
    }
}
