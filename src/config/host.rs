//! Facts about the machine that defaults come from: its hostname and its machine-id.

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

/// This machine's ID (systemd's, else D-Bus's), which a default soul and a friendly
/// name are derived from.
pub fn machine_id() -> Option<String> {
    ["/etc/machine-id", "/var/lib/dbus/machine-id"]
        .iter()
        .find_map(|p| std::fs::read_to_string(Path::new(p)).ok())
        .map(|id| id.trim().to_string())
        .filter(|id| !id.is_empty())
}
