//! Facts about the machine that defaults come from: its hostname, its machine-id, the
//! inputs of its fingerprint (which a native soul is derived from), and how long it has
//! been up.

use std::path::Path;

/// The kernel's hostname via gethostname(2): hardened units (`ProcSubset=pid`) hide
/// /proc/sys, and the call works on every Unix. `$HOSTNAME` if the call fails.
pub fn hostname() -> Option<String> {
    let mut buf = [0u8; 256];
    #[expect(unsafe_code, reason = "gethostname(2) has no safe wrapper in std")]
    // SAFETY: the buffer is valid for its length; gethostname writes at most that.
    let ok = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0;
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    let name = ok.then(|| String::from_utf8_lossy(&buf[..end]).trim().to_string());
    name.or_else(|| std::env::var("HOSTNAME").ok())
        .filter(|h| !h.is_empty())
}

/// Seconds since this machine booted, suspend included, from the kernel's
/// `CLOCK_BOOTTIME`: the clock `/proc/uptime` reads, asked directly, so it needs no
/// `/proc` (a hardened unit's `ProcSubset=pid` hides `/proc/uptime`). `None` where the
/// kernel has no such clock (not Linux).
#[cfg(any(target_os = "linux", target_os = "android"))]
pub fn boot_uptime_s() -> Option<u64> {
    let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    #[expect(unsafe_code, reason = "clock_gettime(2) has no safe wrapper in std")]
    // SAFETY: `now` is a valid, writable timespec for the duration of the call.
    let ok = unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &raw mut now) } == 0;
    if ok { u64::try_from(now.tv_sec).ok() } else { None }
}

/// Seconds since this machine booted: unknown off Linux.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub fn boot_uptime_s() -> Option<u64> {
    None
}

/// This machine's ID (systemd's, else D-Bus's), which a default soul and a friendly
/// name are derived from.
pub fn machine_id() -> Option<String> {
    ["/etc/machine-id", "/var/lib/dbus/machine-id"]
        .iter()
        .find_map(|p| std::fs::read_to_string(Path::new(p)).ok())
        .map(|id| id.trim().to_string())
        .filter(|id| !id.is_empty())
}

/// The inputs of this machine's fingerprint, read as the Go nara reads them (its host
/// ID as gopsutil finds it, and the MAC addresses of `en*`, `eth*` and `wlan*` cards),
/// so a native soul is the one the Go nara derived on this machine.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FingerprintInputs {
    /// The host ID, and the file it came from; `None` if no source could be read.
    pub host_id: Option<(String, &'static str)>,
    /// MAC addresses, lowercase and colon-separated.
    pub macs: Vec<String>,
}

/// The first line of `path`, if it can be read.
fn first_line(path: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    text.split('\n').next().map(str::to_string)
}

/// The host ID: the DMI product UUID (lowercased; readable by root only), else the
/// machine-id written as a UUID, else the boot ID (which changes at every boot).
fn host_id() -> Option<(String, &'static str)> {
    const PRODUCT_UUID: &str = "/sys/class/dmi/id/product_uuid";
    const MACHINE_ID: &str = "/etc/machine-id";
    const BOOT_ID: &str = "/proc/sys/kernel/random/boot_id";
    if let Some(uuid) = first_line(PRODUCT_UUID).filter(|l| !l.is_empty()) {
        return Some((uuid.to_lowercase(), PRODUCT_UUID));
    }
    if let Some(id) = first_line(MACHINE_ID).filter(|l| l.len() == 32 && l.is_ascii()) {
        let dashed = format!(
            "{}-{}-{}-{}-{}",
            &id[..8],
            &id[8..12],
            &id[12..16],
            &id[16..20],
            &id[20..]
        );
        return Some((dashed, MACHINE_ID));
    }
    first_line(BOOT_ID)
        .filter(|l| !l.is_empty())
        .map(|id| (id.to_lowercase(), BOOT_ID))
}

/// MAC addresses of the wired and wireless cards (`en*`, `eth*`, `wlan*`), up or down.
fn macs() -> Vec<String> {
    let Ok(entries) = std::fs::read_dir("/sys/class/net") else {
        return Vec::new();
    };
    let mut macs: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            ["en", "eth", "wlan"].iter().any(|p| name.starts_with(p))
        })
        .filter_map(|e| std::fs::read_to_string(e.path().join("address")).ok())
        .map(|a| a.trim().to_lowercase())
        .filter(|a| !a.is_empty())
        .collect();
    macs.sort();
    macs
}

/// This machine's fingerprint inputs.
pub fn fingerprint_inputs() -> FingerprintInputs {
    FingerprintInputs {
        host_id: host_id(),
        macs: macs(),
    }
}

/// What a start reads from the machine for its defaults; tests stand in for it.
pub trait Machine {
    /// The machine-id, which a friendly name for a generic hostname comes from.
    fn machine_id(&self) -> Option<String>;
    /// The inputs of the fingerprint, which a native soul comes from.
    fn fingerprint_inputs(&self) -> FingerprintInputs;
}

/// The machine nara runs on.
pub struct ThisMachine;

impl Machine for ThisMachine {
    fn machine_id(&self) -> Option<String> {
        machine_id()
    }

    fn fingerprint_inputs(&self) -> FingerprintInputs {
        fingerprint_inputs()
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use std::process::Command;

    /// The whole seconds /proc/uptime says, where it can be read.
    fn proc_uptime_s() -> Option<u64> {
        let text = std::fs::read_to_string("/proc/uptime").ok()?;
        text.split('.').next()?.parse().ok()
    }

    #[test]
    fn boot_uptime_is_the_clock_proc_uptime_reads() {
        let before = proc_uptime_s().expect("this test runs where /proc/uptime can be read");
        let uptime = boot_uptime_s().expect("Linux has CLOCK_BOOTTIME");
        let after = proc_uptime_s().expect("/proc/uptime");
        assert!((before..=after).contains(&uptime), "{before} <= {uptime} <= {after}");
    }

    const INSIDE: &str = "HOST_UPTIME_TEST_INSIDE_PROC_SUBSET_PID";

    /// Run by the test below in a mount and PID namespace whose /proc is mounted as
    /// `ProcSubset=pid` mounts it: /proc/uptime is gone, the boot clock is not.
    #[test]
    #[ignore = "run inside a /proc mounted subset=pid by boot_uptime_needs_no_proc"]
    fn boot_uptime_inside_a_proc_subset_pid() {
        assert_eq!(
            std::env::var(INSIDE).as_deref(),
            Ok("1"),
            "run by boot_uptime_needs_no_proc"
        );
        assert!(
            !std::path::Path::new("/proc/uptime").exists(),
            "/proc is mounted subset=pid, which hides /proc/uptime"
        );
        let uptime = boot_uptime_s().expect("CLOCK_BOOTTIME needs no /proc");
        println!("boot_uptime_s={uptime}");
    }

    /// The hardened unit's `ProcSubset=pid`, as far as a test can make it without
    /// systemd: `unshare` a mount and PID namespace (through a user namespace when not
    /// root), mount /proc there with `subset=pid`, and run the test above in it.
    #[test]
    fn boot_uptime_needs_no_proc() {
        let test_binary = std::env::current_exe().expect("the test binary's path");
        let script = r#"mount -t proc -o subset=pid proc /proc && exec "$@""#;
        let namespaces: [&[&str]; 2] = [
            &["--mount", "--pid", "--fork", "--propagation", "private"],
            &[
                "--user",
                "--map-root-user",
                "--mount",
                "--pid",
                "--fork",
                "--propagation",
                "private",
            ],
        ];
        let Some(flags) = namespaces.into_iter().find(|flags| {
            Command::new("unshare")
                .args(*flags)
                .args(["sh", "-c", script, "sh", "true"])
                .output()
                .is_ok_and(|o| o.status.success())
        }) else {
            // A sandbox that forbids namespaces (some CI containers) cannot host this.
            eprintln!("SKIPPED: unshare cannot mount a /proc with subset=pid here");
            return;
        };
        let before = proc_uptime_s().expect("/proc/uptime outside the namespace");
        let inside = Command::new("unshare")
            .args(flags)
            .args(["sh", "-c", script, "sh"])
            .arg(&test_binary)
            .args([
                "--exact",
                "config::host::tests::boot_uptime_inside_a_proc_subset_pid",
                "--ignored",
                "--nocapture",
            ])
            .env(INSIDE, "1")
            .output()
            .expect("unshare runs");
        let after = proc_uptime_s().expect("/proc/uptime");
        let stdout = String::from_utf8_lossy(&inside.stdout);
        assert!(
            inside.status.success(),
            "inside: {stdout}{}",
            String::from_utf8_lossy(&inside.stderr)
        );
        let uptime: u64 = stdout
            .lines()
            .find_map(|line| line.strip_prefix("boot_uptime_s="))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("the test inside ran and printed its uptime: {stdout}"));
        assert!((before..=after).contains(&uptime), "{before} <= {uptime} <= {after}");
    }
}
