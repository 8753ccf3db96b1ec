//! Host health: how loaded a nara's host is and what its process holds, as its
//! newspaper says, for `/api/peers` and the UI.
//!
//! A Go nara's newspaper carries `HostStats`: `LoadAvg` (the 1-minute load divided by
//! its CPU count, truncated to 2 decimals), `MemAllocMB` (its live Go heap, not its
//! RSS) and `ProcCPUPercent` (always 0 in practice: the Go nara asks a fresh process
//! handle each time, whose first reading is 0). nara writes `LoadAvg` the Go way too, so
//! a Go nara's page shows nara's load, and its own measures under a `host` member that
//! the Go nara ignores: `rss_kib`, `cpu_pct` and `fds`. Everything is read without the
//! parts of `/proc` that a hardened unit hides (`ProcSubset=pid`, `ProtectProc=invisible`
//! hide `/proc/loadavg`, `/proc/meminfo` and `/proc/stat`): the load from `sysinfo(2)`,
//! the CPU time from `getrusage(2)`, the RSS from `/proc/self/statm` and the
//! descriptors from `/proc/self/fd`, which stay visible.
//!
//! A value out of its range (negative, or beyond any host: see the `MAX_*` bounds)
//! makes the newspaper invalid, as a malformed member does: nothing a nara measures
//! lies there, so it is refused whole and the view keeps what it had.

use serde::{Deserialize, Serialize};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The highest load per core accepted: a host that has 10,000 runnable tasks per core
/// does not send newspapers.
const MAX_LOAD_PER_CORE: f64 = 10_000.0;
/// The highest CPU % accepted: 100 per core, for 4,096 cores.
const MAX_CPU_PCT: f64 = 409_600.0;
/// The most memory accepted, RSS or Go heap: 16 TiB.
const MAX_MEMORY_BYTES: u64 = 1 << 44;
/// The most descriptors accepted: Linux allows a process no more (`fs.nr_open`).
const MAX_FDS: u32 = 1 << 30;

/// A non-negative number with two decimals, kept as hundredths so that a peer compares
/// exactly; written as a JSON number (`0.42`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Hundredths(pub u32);

impl Hundredths {
    /// `value` truncated to two decimals, as the Go nara truncates its load.
    fn truncated(value: f64) -> Hundredths {
        // A cast saturates: a negative or NaN value is 0.
        Hundredths((value * 100.0) as u32)
    }

    /// `value` rounded to two decimals, if it is a number from 0 to `max`.
    fn checked(value: f64, max: f64) -> Option<Hundredths> {
        (value.is_finite() && (0.0..=max).contains(&value)).then(|| Hundredths((value * 100.0).round() as u32))
    }

    fn as_f64(self) -> f64 {
        f64::from(self.0) / 100.0
    }
}

impl Serialize for Hundredths {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // The shortest form that reads back as the same double: 42 hundredths is 0.42.
        serializer.serialize_f64(self.as_f64())
    }
}

/// A nara's host health as this nara shows it. A member is absent where the nara does
/// not say: a Go nara has no RSS or descriptor count, and its CPU % is unknown (see the
/// module's doc).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct HostHealth {
    /// The host's 1-minute load divided by its CPU count (the Go nara's `LoadAvg`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub load_per_core: Option<Hundredths>,
    /// The process's CPU time over the newspaper's interval, in % of one core (so up
    /// to 100 × cores).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_pct: Option<Hundredths>,
    /// The process's resident memory, in bytes (nara only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rss_bytes: Option<u64>,
    /// The Go nara's live heap, in bytes, to the MiB (`MemAllocMB`): not its RSS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub go_heap_bytes: Option<u64>,
    /// The process's open file descriptors (nara only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub open_fds: Option<u32>,
}

/// The `HostStats` members nara reads, as a newspaper carries them: all of them from a
/// Go nara, `Uptime` and `LoadAvg` from this one.
#[derive(Clone, Copy, Debug, Default, Deserialize)]
pub(crate) struct GoStats {
    /// Seconds since the host booted (the freshness rules read it).
    #[serde(rename = "Uptime")]
    pub(crate) uptime: u64,
    #[serde(rename = "LoadAvg", default)]
    load_avg: Option<f64>,
    #[serde(rename = "MemAllocMB", default)]
    mem_alloc_mb: Option<u64>,
    #[serde(rename = "ProcCPUPercent", default)]
    proc_cpu_percent: Option<f64>,
}

/// The `host` member: nara's own measures, each absent where it could not be read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Host {
    /// Resident memory, KiB (a page is 4 KiB, so nothing finer is lost).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub rss_kib: Option<u64>,
    /// CPU % of one core since the last newspaper, two decimals.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub cpu_pct: Option<f64>,
    /// Open descriptors.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub fds: Option<u32>,
}

impl Host {
    /// Whether it says nothing (and is left out of the newspaper).
    pub(crate) fn is_empty(&self) -> bool {
        *self == Host::default()
    }
}

/// The health a newspaper says, or `None` when a value is out of its range (the
/// newspaper is then invalid).
pub(crate) fn read(go: &GoStats, host: Option<&Host>) -> Option<HostHealth> {
    let host = host.copied().unwrap_or_default();
    // The Go nara's 0 says nothing (see the module's doc); any other value is a reading.
    let go_cpu = go.proc_cpu_percent.filter(|pct| *pct != 0.0);
    Some(HostHealth {
        load_per_core: within(go.load_avg, |load| Hundredths::checked(load, MAX_LOAD_PER_CORE))?,
        cpu_pct: within(host.cpu_pct.or(go_cpu), |pct| Hundredths::checked(pct, MAX_CPU_PCT))?,
        rss_bytes: within(host.rss_kib, |kib| bytes(kib, 1 << 10))?,
        go_heap_bytes: within(go.mem_alloc_mb, |mib| bytes(mib, 1 << 20))?,
        open_fds: within(host.fds, |fds| (fds <= MAX_FDS).then_some(fds))?,
    })
}

/// `Some(None)` for a value not given, `Some(checked)` for one in range, `None` for
/// one out of it.
fn within<T, U>(value: Option<T>, check: impl FnOnce(T) -> Option<U>) -> Option<Option<U>> {
    match value {
        None => Some(None),
        Some(value) => check(value).map(Some),
    }
}

/// `count` units of `unit` bytes, if no more than [`MAX_MEMORY_BYTES`].
fn bytes(count: u64, unit: u64) -> Option<u64> {
    count.checked_mul(unit).filter(|bytes| *bytes <= MAX_MEMORY_BYTES)
}

/// This nara's own health, measured as a newspaper is signed.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Measured {
    /// `HostStats.LoadAvg`, the Go way.
    pub load_per_core: Option<Hundredths>,
    /// The `host` member.
    pub host: Host,
}

impl Measured {
    /// `LoadAvg` as the newspaper writes it.
    pub(crate) fn load_avg(&self) -> Option<f64> {
        self.load_per_core.map(Hundredths::as_f64)
    }

    /// What this nara shows of itself: what the others read from its newspaper.
    pub(crate) fn health(&self) -> HostHealth {
        HostHealth {
            load_per_core: self.load_per_core,
            cpu_pct: self.host.cpu_pct.map(Hundredths::truncated),
            rss_bytes: self.host.rss_kib.map(|kib| kib.saturating_mul(1024)),
            go_heap_bytes: None,
            open_fds: self.host.fds,
        }
    }
}

/// Measures this process and its host; keeps the CPU time of the last measure, so each
/// CPU % covers the time since (the first, the time since the sampler was made: the
/// process's start-up before it would count work no interval holds).
#[derive(Debug)]
pub(crate) struct Sampler {
    last: Mutex<(Instant, Option<Duration>)>,
}

impl Sampler {
    /// A sampler whose first CPU % counts from now.
    pub(crate) fn new() -> Sampler {
        Sampler {
            last: Mutex::new((Instant::now(), os::cpu_time())),
        }
    }

    /// Measures now.
    pub(crate) fn measure(&self) -> Measured {
        let now = Instant::now();
        let cpu = os::cpu_time();
        let cpu_pct = {
            let mut last = self.last.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let (then, cpu_then) = *last;
            *last = (now, cpu);
            let wall = now.saturating_duration_since(then).as_secs_f64();
            match (cpu, cpu_then) {
                (Some(cpu), Some(cpu_then)) if wall > 0.0 => {
                    let pct = cpu.saturating_sub(cpu_then).as_secs_f64() / wall * 100.0;
                    Some(Hundredths::truncated(pct.min(MAX_CPU_PCT)).as_f64())
                }
                _ => None,
            }
        };
        Measured {
            load_per_core: os::load_1m().map(|load| Hundredths::truncated(load / f64::from(os::cpu_count()))),
            host: Host {
                rss_kib: os::rss_bytes().map(|bytes| bytes / 1024),
                cpu_pct,
                fds: os::open_fds(),
            },
        }
    }
}

/// Where the kernel is asked. Linux only; elsewhere each measure is unknown.
#[cfg(target_os = "linux")]
mod os {
    use std::time::Duration;

    /// The host's 1-minute load average, from `sysinfo(2)`: no `/proc/loadavg`.
    pub(super) fn load_1m() -> Option<f64> {
        #[expect(unsafe_code, reason = "sysinfo(2) has no safe wrapper in std")]
        // SAFETY: sysinfo is plain data; all zeroes is a valid value of it.
        let mut info: libc::sysinfo = unsafe { std::mem::zeroed() };
        #[expect(unsafe_code, reason = "sysinfo(2) has no safe wrapper in std")]
        // SAFETY: `info` is a valid, writable sysinfo for the duration of the call.
        let ok = unsafe { libc::sysinfo(&raw mut info) } == 0;
        // The loads are fixed-point, 16 bits after the point (SI_LOAD_SHIFT).
        ok.then(|| info.loads[0] as f64 / 65536.0)
    }

    /// The CPUs this process may run on, as the Go runtime counts them: its affinity
    /// (not a cgroup's CPU quota, as `available_parallelism` would).
    pub(super) fn cpu_count() -> u32 {
        #[expect(unsafe_code, reason = "sched_getaffinity(2) has no safe wrapper in std")]
        // SAFETY: cpu_set_t is plain data; all zeroes is the empty set.
        let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        #[expect(unsafe_code, reason = "sched_getaffinity(2) has no safe wrapper in std")]
        // SAFETY: `set` is a valid, writable cpu_set_t of the size passed.
        let ok = unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &raw mut set) } == 0;
        #[expect(unsafe_code, reason = "CPU_COUNT reads the set it is given")]
        // SAFETY: `set` is a valid cpu_set_t.
        let count = if ok { unsafe { libc::CPU_COUNT(&set) } } else { 0 };
        u32::try_from(count).ok().filter(|n| *n > 0).unwrap_or(1)
    }

    /// User and system CPU time this process has used, from `getrusage(2)`.
    pub(super) fn cpu_time() -> Option<Duration> {
        #[expect(unsafe_code, reason = "getrusage(2) has no safe wrapper in std")]
        // SAFETY: rusage is plain data; all zeroes is a valid value of it.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        #[expect(unsafe_code, reason = "getrusage(2) has no safe wrapper in std")]
        // SAFETY: `usage` is a valid, writable rusage for the duration of the call.
        let ok = unsafe { libc::getrusage(libc::RUSAGE_SELF, &raw mut usage) } == 0;
        let time = |t: libc::timeval| {
            Duration::from_secs(u64::try_from(t.tv_sec).unwrap_or(0))
                + Duration::from_micros(u64::try_from(t.tv_usec).unwrap_or(0))
        };
        ok.then(|| time(usage.ru_utime) + time(usage.ru_stime))
    }

    /// Resident memory, from `/proc/self/statm` (its second field, in pages).
    pub(super) fn rss_bytes() -> Option<u64> {
        let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
        let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
        #[expect(unsafe_code, reason = "sysconf(3) has no safe wrapper in std")]
        // SAFETY: sysconf has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        pages.checked_mul(u64::try_from(page).ok()?)
    }

    /// Open descriptors, from `/proc/self/fd`, less the one that lists them.
    pub(super) fn open_fds() -> Option<u32> {
        let listed = std::fs::read_dir("/proc/self/fd").ok()?.count();
        u32::try_from(listed.saturating_sub(1)).ok()
    }
}

#[cfg(not(target_os = "linux"))]
mod os {
    use std::time::Duration;

    pub(super) fn load_1m() -> Option<f64> {
        None
    }

    pub(super) fn cpu_count() -> u32 {
        1
    }

    pub(super) fn cpu_time() -> Option<Duration> {
        None
    }

    pub(super) fn rss_bytes() -> Option<u64> {
        None
    }

    pub(super) fn open_fds() -> Option<u32> {
        None
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn hundredths_are_written_as_the_decimal_they_stand_for() {
        let json =
            serde_json::to_string(&[Hundredths(42), Hundredths(150), Hundredths(0), Hundredths(123_456)]).unwrap();
        assert_eq!(json, "[0.42,1.5,0.0,1234.56]");
        assert_eq!(Hundredths::truncated(0.129), Hundredths(12), "truncated, as Go does");
        assert_eq!(Hundredths::truncated(-3.0), Hundredths(0));
        assert_eq!(Hundredths::checked(0.125, 1.0), Some(Hundredths(13)), "rounded");
        assert_eq!(Hundredths::checked(f64::NAN, 1.0), None);
    }

    #[test]
    fn this_process_is_measured_and_its_cpu_covers_the_time_since_the_last_measure() {
        let sampler = Sampler::new();
        let first = sampler.measure();
        let held: Vec<std::fs::File> = (0..8)
            .map(|_| std::fs::File::open("/proc/self/statm").unwrap())
            .collect();
        // Some CPU time, for the next measure to see.
        let spin = Instant::now();
        while spin.elapsed() < Duration::from_millis(50) {
            std::hint::black_box(spin.elapsed());
        }
        let second = sampler.measure();
        assert!(first.load_per_core.is_some(), "sysinfo(2) answers on Linux");
        assert!(second.host.rss_kib.is_some_and(|kib| kib > 1024), "{second:?}");
        let fds = |m: &Measured| m.host.fds.expect("/proc/self/fd is readable");
        // Other tests' threads open and close files meanwhile: at least the 8 held.
        assert!(fds(&second) >= 8, "{second:?}");
        let cpu = second.host.cpu_pct.expect("getrusage(2) answers");
        assert!(cpu > 0.0 && cpu <= 100.0 * f64::from(os::cpu_count()), "{cpu}");
        drop(held);
    }
}
