// Which naras the network table shows: this nara first, then by status and name (within
// the groups of a tag key, when it groups by one), filtered by a status, a version, a
// tag and what the reader typed, one page at a time (a plaza may hold 10,000).
// Pure functions, unit-tested with `node --test`.

import { byHealth } from "./health.js";
import { compareVersions } from "./rollout.js";
import { byGroup, groupSizes, keepsTag } from "./tags.js";

export const PAGE_SIZE = 100;

const ORDER = { ONLINE: 0, SUSPECT: 1, MISSING: 2, OFFLINE: 3 };

/** This nara first, then ONLINE, SUSPECT, MISSING, OFFLINE, each by name. */
export function byStatusThenName(a, b) {
  return (a.self ? -1 : b.self ? 1 : 0) || (ORDER[a.status] ?? 4) - (ORDER[b.status] ?? 4) || a.name.localeCompare(b.name);
}

/** Whether `peer` matches `query`: a part of its name or version, or its status. */
export function matches(peer, query) {
  const q = query.trim().toLowerCase();
  if (q === "") return true;
  return (
    peer.name.toLowerCase().includes(q) || (peer.version ?? "").toLowerCase().includes(q) || peer.status.toLowerCase() === q
  );
}

/** Whether `peer` has `status`, `version` and `tag` (each when given) and matches `query`. */
export function keeps(peer, { status = "", version = "", tag = "", query = "" } = {}) {
  return (
    (status === "" || peer.status === status) &&
    (version === "" || peer.version === version) &&
    keepsTag(peer, tag) &&
    matches(peer, query)
  );
}

/**
 * One page of the naras the filter keeps (a `status`, a `version`, a `tag`, a `query`),
 * sorted by status and name, or by a host health column (`sort`: `{ key, ascending }`),
 * and by the value of the tag key `group` before either when given:
 * `{ rows, total, page, pages, first }` where `page` is clamped to the pages there are
 * and `first` is the 1-based position of the first row shown; grouped, also `groups`,
 * how many naras each group holds (a Map from the value, "" for those without it).
 */
export function pageOf(
  peers,
  { status = "", version = "", tag = "", group = "", query = "", page = 0, size = PAGE_SIZE, sort = null } = {},
) {
  const within = sort ? byHealth(sort.key, sort.ascending, byStatusThenName) : byStatusThenName;
  const order = group ? byGroup(group, within) : within;
  const matching = peers.filter((p) => keeps(p, { status, version, tag, query })).sort(order);
  const pages = Math.max(1, Math.ceil(matching.length / size));
  const current = Math.min(Math.max(0, page), pages - 1);
  const start = current * size;
  return {
    rows: matching.slice(start, start + size),
    total: matching.length,
    page: current,
    pages,
    first: matching.length === 0 ? 0 : start + 1,
    ...(group ? { groups: groupSizes(matching, group) } : {}),
  };
}

/**
 * The versions the version filter offers: each known version with how many naras run
 * it, newest first, and `selected` too (with 0) when no nara runs it, so a shared link
 * to a version that is gone still shows what it filters on.
 */
export function versionsOf(peers, selected = "") {
  const counts = new Map();
  for (const peer of peers) {
    if (peer.version) counts.set(peer.version, (counts.get(peer.version) ?? 0) + 1);
  }
  if (selected && !counts.has(selected)) counts.set(selected, 0);
  return [...counts.entries()].map(([version, count]) => ({ version, count })).sort((a, b) => compareVersions(b.version, a.version));
}
