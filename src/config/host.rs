//! Facts about the machine that defaults come from: its hostname, its machine-id, and
//! the inputs of its fingerprint (which a native soul is derived from).

use std::path::Path;

/// The kernel's hostname via gethostname(2): hardened units (`ProcSubset=pid`) hide
/// /proc/sys, and the call works on every Unix. `$HOSTNAME` if the call fails.
pub(crate) fn hostname() -> Option<String> {
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
pub(crate) fn machine_id() -> Option<String> {
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
pub(crate) struct FingerprintInputs {
    /// The host ID, and the file it came from; `None` if no source could be read.
    pub(crate) host_id: Option<(String, &'static str)>,
    /// MAC addresses, lowercase and colon-separated.
    pub(crate) macs: Vec<String>,
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
pub(crate) fn fingerprint_inputs() -> FingerprintInputs {
    FingerprintInputs {
        host_id: host_id(),
        macs: macs(),
    }
}

/// What a start reads from the machine for its defaults; tests stand in for it.
pub(crate) trait Machine {
    /// The machine-id, which a friendly name for a generic hostname comes from.
    fn machine_id(&self) -> Option<String>;
    /// The inputs of the fingerprint, which a native soul comes from.
    fn fingerprint_inputs(&self) -> FingerprintInputs;
}

/// The machine nara runs on.
pub(crate) struct ThisMachine;

impl Machine for ThisMachine {
    fn machine_id(&self) -> Option<String> {
        machine_id()
    }

    fn fingerprint_inputs(&self) -> FingerprintInputs {
        fingerprint_inputs()
    }
}
