// The plaza's versions, computed from the list of naras: how versions compare, and a
// rollout grouped by version. Pure functions, unit-tested with `node --test`.

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

/**
 * A rollout at a glance, from the naras still around (not OFFLINE): each known version
 * with its naras, newest first; the naras behind the newest; and the version changes
 * the naras reported, newest first. A nara whose version is not yet known (no
 * newspaper yet) is counted under "unknown" and is behind no one.
 */
export function rollout(peers, { timelineLength = 12 } = {}) {
  const around = peers.filter((p) => p.status !== "OFFLINE");
  const byVersion = new Map();
  for (const peer of around) {
    const key = peer.version || "";
    if (!byVersion.has(key)) byVersion.set(key, []);
    byVersion.get(key).push(peer.name);
  }
  const known = [...byVersion.keys()].filter((v) => v !== "").sort((a, b) => compareVersions(b, a));
  const newest = known[0] ?? null;
  const rows = known.map((version) => ({
    version,
    names: byVersion.get(version).sort(),
    count: byVersion.get(version).length,
    behind: version !== newest,
  }));
  if (byVersion.has("")) {
    const names = byVersion.get("").sort();
    rows.push({ version: "", names, count: names.length, behind: false, unknown: true });
  }
  const behind = rows.filter((r) => r.behind).flatMap((r) => r.names.map((name) => ({ name, version: r.version })));
  const timeline = peers
    .flatMap((p) => (p.version_history ?? []).map((change) => ({ name: p.name, ...change })))
    .sort((a, b) => Date.parse(b.at) - Date.parse(a.at))
    .slice(0, timelineLength);
  return { newest, rows, behind, timeline };
}

/** The first `limit` of `items`, and how many more there are. */
export function firstOf(items, limit) {
  return { shown: items.slice(0, limit), more: Math.max(0, items.length - limit) };
}
