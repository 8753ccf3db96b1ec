// Which naras the network table shows: this nara first, then by status and name,
// filtered by what the reader typed, one page at a time (a plaza may hold 10,000).
// Pure functions, unit-tested with `node --test`.

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

/**
 * One page of the naras that match `query`, sorted: `{ rows, total, page, pages, first }`
 * where `page` is clamped to the pages there are and `first` is the 1-based position of
 * the first row shown.
 */
export function pageOf(peers, { query = "", page = 0, size = PAGE_SIZE } = {}) {
  const matching = peers.filter((p) => matches(p, query)).sort(byStatusThenName);
  const pages = Math.max(1, Math.ceil(matching.length / size));
  const current = Math.min(Math.max(0, page), pages - 1);
  const start = current * size;
  return {
    rows: matching.slice(start, start + size),
    total: matching.length,
    page: current,
    pages,
    first: matching.length === 0 ? 0 : start + 1,
  };
}
