// The plaza's versions, computed from the list of naras: how versions compare, and a
// rollout grouped by version. Pure functions, unit-tested with `node --test`.

// Semantic versioning's grammar (semver.org), as the `semver` crate nara uses parses it.
const IDENT = String.raw`(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)`;
const SEMVER = new RegExp(
  String.raw`^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-(${IDENT}(?:\.${IDENT})*))?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$`,
);
const U64_MAX = 18446744073709551615n;

function parseVersion(text) {
  const match = SEMVER.exec(text);
  if (!match) return null;
  const numbers = match.slice(1, 4).map(BigInt);
  if (numbers.some((n) => n > U64_MAX)) return null;
  return { numbers, pre: match[4] ? match[4].split(".") : [] };
}

const sign = (a, b) => (a < b ? -1 : a > b ? 1 : 0);

function comparePre(a, b) {
  if (a.length === 0 || b.length === 0) return sign(b.length, a.length); // a release is above its pre-releases
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const [x, y] = [a[i], b[i]];
    const [nx, ny] = [/^\d+$/.test(x), /^\d+$/.test(y)];
    const order = nx && ny ? sign(BigInt(x), BigInt(y)) : nx ? -1 : ny ? 1 : sign(x, y);
    if (order !== 0) return order;
  }
  return sign(a.length, b.length);
}

/**
 * Compares versions in nara's order (src/plaza/version.rs; both are held to
 * web/test/version-order.json): semantic-version precedence, numbers as numbers and a
 * pre-release below its release; a version that does not parse below every one that
 * does; ties (build metadata, two that do not parse) by the text.
 */
export function compareVersions(a, b) {
  const [ta, tb] = [String(a), String(b)];
  const [x, y] = [parseVersion(ta), parseVersion(tb)];
  let order = 0;
  if (x && y) {
    for (let i = 0; i < 3 && order === 0; i++) order = sign(x.numbers[i], y.numbers[i]);
    if (order === 0) order = comparePre(x.pre, y.pre);
  } else if (x || y) {
    order = x ? 1 : -1;
  }
  return order || sign(ta, tb);
}

/**
 * A rollout at a glance, from the naras still around (not OFFLINE): each known version
 * with its naras, newest first; the naras behind the newest; and the version changes
 * the naras reported, newest first. The newest is `target` when the nara was given one
 * (--rollout-target), else the target /api/rollout infers: the highest version among
 * naras that send a build revision, so a Go nara (which sends none) never becomes it. A
 * nara whose version is not yet known (no newspaper yet) is counted under "unknown" and
 * is behind no one.
 */
export function rollout(peers, { timelineLength = 12, target = null } = {}) {
  const around = peers.filter((p) => p.status !== "OFFLINE");
  const byVersion = new Map();
  for (const peer of around) {
    const key = peer.version || "";
    if (!byVersion.has(key)) byVersion.set(key, []);
    byVersion.get(key).push(peer.name);
  }
  const known = [...byVersion.keys()].filter((v) => v !== "").sort((a, b) => compareVersions(b, a));
  // Each distinct version once: a crowd runs a handful, and this runs at every redraw.
  const native = [...new Set(around.filter((p) => p.version && p.revision).map((p) => p.version))];
  const newest = target ?? native.reduce((a, b) => (a === null || compareVersions(b, a) > 0 ? b : a), null);
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
