// Turns raw values from the API into words a person reads at a glance.

export function formatDuration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const days = Math.floor(s / 86400);
  const hours = Math.floor((s % 86400) / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  if (days > 0) return `${days}d ${hours}h`;
  if (hours > 0) return `${hours}h ${minutes}m`;
  if (minutes > 0) return `${minutes}m ${s % 60}s`;
  return `${s}s`;
}

export function formatAgo(iso, now = Date.now()) {
  const seconds = (now - Date.parse(iso)) / 1000;
  if (!Number.isFinite(seconds)) return "never";
  if (seconds < 5) return "just now";
  return `${formatDuration(seconds)} ago`;
}

/** Compares dotted versions numerically ("0.10.0" > "0.9.1"); text parts last. */
export function compareVersions(a, b) {
  const pa = String(a).split(/[.+-]/);
  const pb = String(b).split(/[.+-]/);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? "0";
    const y = pb[i] ?? "0";
    const nx = Number(x);
    const ny = Number(y);
    const diff = Number.isNaN(nx) || Number.isNaN(ny) ? x.localeCompare(y) : nx - ny;
    if (diff !== 0) return Math.sign(diff);
  }
  return 0;
}

/** Naras per version among those still around (not OFFLINE), newest first. */
export function versionSummary(peers) {
  const counts = new Map();
  for (const peer of peers) {
    if (peer.status === "OFFLINE") continue;
    counts.set(peer.version, (counts.get(peer.version) ?? 0) + 1);
  }
  const versions = [...counts.keys()].sort((a, b) => compareVersions(b, a));
  return versions.map((version, i) => ({ version, count: counts.get(version), behind: i > 0 }));
}
