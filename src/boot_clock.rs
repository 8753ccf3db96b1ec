//! The host's boot clock: seconds since the machine booted, which the newspaper reports
//! as the Go nara's `HostStats.Uptime`. Read from the kernel's `CLOCK_BOOTTIME` rather
//! than `/proc/uptime`, which a hardened unit's `ProcSubset=pid` hides. A shared module,
//! as `start_time` is: the plaza reads it, and the plaza may not import the
//! configuration's room.

/// Seconds since this machine booted, suspend included, from the kernel's
/// `CLOCK_BOOTTIME`: the clock `/proc/uptime` reads, asked directly, so it needs no
/// `/proc` (a hardened unit's `ProcSubset=pid` hides `/proc/uptime`). `None` where the
/// kernel has no such clock (not Linux).
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn boot_uptime_s() -> Option<u64> {
    let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    #[expect(unsafe_code, reason = "clock_gettime(2) has no safe wrapper in std")]
    // SAFETY: `now` is a valid, writable timespec for the duration of the call.
    let ok = unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &raw mut now) } == 0;
    if ok { u64::try_from(now.tv_sec).ok() } else { None }
}

/// Seconds since this machine booted: unknown off Linux.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) fn boot_uptime_s() -> Option<u64> {
    None
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
                "boot_clock::tests::boot_uptime_inside_a_proc_subset_pid",
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
