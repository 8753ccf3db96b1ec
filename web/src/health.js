// The host health columns of the network table: what each shows of a nara's `host`
// (as /api/peers gives it), in words, and how the table sorts by one.
// A Go nara says its load per core and its Go heap (not an RSS); its CPU % is unknown
// (the Go nara always says 0) and it says nothing of descriptors: those cells say so
// rather than show a number that would mislead.
// The page follows the plaza by its events, and a newspaper that changes only a nara's
// health is no event: the page reads the list again every HEALTH_REFRESH_MS and takes
// from it the health alone (a status or version from it could be older than an event
// the page already has).
// Pure functions, unit-tested with `node --test`.

/** How often the page reads /api/peers again for the health, while it is visible. */
export const HEALTH_REFRESH_MS = 15000;

const MIB = 1024 * 1024;

/** The host health columns, in the table's order: a key, a heading and a value to sort by. */
export const HEALTH_COLUMNS = [
  { key: "load", heading: "Load/core", title: "The host's 1-minute load divided by its CPU count", value: (p) => p.host?.load_per_core },
  { key: "cpu", heading: "CPU", title: "The process's CPU over its last newspaper's interval, in % of one core", value: (p) => p.host?.cpu_pct },
  {
    key: "memory",
    heading: "Memory",
    title: "The process's resident memory; for a Go nara, its Go heap",
    value: (p) => p.host?.rss_bytes ?? p.host?.go_heap_bytes,
  },
  { key: "fds", heading: "Files", title: "The process's open file descriptors", value: (p) => p.host?.open_fds },
];

/** The column `key` names, or undefined. */
export function healthColumn(key) {
  return HEALTH_COLUMNS.find((column) => column.key === key);
}

/**
 * A comparator for the column `key`, heaviest first (or lightest, `ascending`); naras
 * that do not say come last either way, and `then` settles ties.
 */
export function byHealth(key, ascending, then) {
  const column = healthColumn(key);
  return (a, b) => {
    const x = column?.value(a);
    const y = column?.value(b);
    const known = (x != null ? 0 : 1) - (y != null ? 0 : 1);
    if (known !== 0) return known;
    if (x != null && x !== y) return ascending ? x - y : y - x;
    return then(a, b);
  };
}

/** The sort after a click on the heading `key`: heaviest first, then lightest, then none. */
export function nextSort(sort, key) {
  if (sort?.key !== key) return { key, ascending: false };
  if (!sort.ascending) return { key, ascending: true };
  return null;
}

/** `bytes` for a person: "23.4 MiB", "1.2 GiB", "512 KiB". */
export function formatBytes(bytes) {
  if (bytes >= 1024 * MIB) return `${(bytes / (1024 * MIB)).toFixed(1)} GiB`;
  if (bytes >= MIB) return `${(bytes / MIB).toFixed(1)} MiB`;
  return `${Math.round(bytes / 1024)} KiB`;
}

/**
 * What the cell of column `key` says of `peer`: `{ text, title }`, the text "—" when
 * the nara does not say (and the title why).
 */
export function healthCell(peer, key) {
  const host = peer.host ?? {};
  const none = (title) => ({ text: "—", title });
  const noNewspaper = "no newspaper has said it yet";
  const isGo = host.go_heap_bytes != null;
  switch (key) {
    case "load":
      return host.load_per_core != null ? { text: host.load_per_core.toFixed(2), title: "1-minute load per core" } : none(noNewspaper);
    case "cpu":
      if (host.cpu_pct != null) return { text: `${host.cpu_pct.toFixed(1)} %`, title: "% of one core over the last interval" };
      return none(isGo ? "a Go nara always says 0 (a bug of its own), so its CPU is unknown" : noNewspaper);
    case "memory":
      if (host.rss_bytes != null) return { text: formatBytes(host.rss_bytes), title: "resident memory (RSS)" };
      if (isGo) return { text: `${formatBytes(host.go_heap_bytes)} heap`, title: "the Go nara's live Go heap (MemAllocMB), not its RSS" };
      return none(noNewspaper);
    case "fds":
      if (host.open_fds != null) return { text: host.open_fds.toLocaleString("en"), title: "open file descriptors" };
      return none(isGo ? "a Go nara does not say" : noNewspaper);
    default:
      return none("");
  }
}

/**
 * Takes each nara's `host` from `list` (a fresh /api/peers) into `peers` (the page's map
 * by name), replacing the peer objects it changes; naras not in the map stay out.
 * Returns how many changed.
 */
export function mergeHealth(peers, list) {
  let changed = 0;
  for (const fresh of list) {
    const known = peers.get(fresh.name);
    if (!known || JSON.stringify(known.host) === JSON.stringify(fresh.host)) continue;
    peers.set(fresh.name, { ...known, host: fresh.host });
    changed += 1;
  }
  return changed;
}
