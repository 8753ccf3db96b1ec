// Tags in the network table: the tag filter (`?tag=role:db`, or `?tag=role` for any
// value, as /api/peers reads it) and grouping by a tag key (`?group=role`), both kept
// in the page's URL beside the other filters. A nara's tags are the labels its signed
// newspaper carries (`tags` in /api/peers).
// Pure functions, unit-tested with `node --test`.

/** A tag filter as the URL writes it, split: `{ key, value }` (`value` null: any). */
export function parseTag(text) {
  const trimmed = (text ?? "").trim();
  if (trimmed === "") return null;
  const colon = trimmed.indexOf(":");
  if (colon < 0) return { key: trimmed, value: null };
  return { key: trimmed.slice(0, colon), value: trimmed.slice(colon + 1) };
}

/** Whether `peer` carries the tag `tag` asks for (every nara when `tag` is empty). */
export function keepsTag(peer, tag) {
  const wanted = parseTag(tag);
  if (wanted === null) return true;
  const value = peer.tags?.[wanted.key];
  return value !== undefined && (wanted.value === null || value === wanted.value);
}

/**
 * The tags the filter offers: each `key:value` some nara carries, with how many do, by
 * key then value, and `selected` too (with 0) when no nara carries it, so a shared link
 * still shows what it filters on.
 */
export function tagsOf(peers, selected = "") {
  const counts = new Map();
  for (const peer of peers) {
    for (const [key, value] of Object.entries(peer.tags ?? {})) {
      const tag = `${key}:${value}`;
      counts.set(tag, (counts.get(tag) ?? 0) + 1);
    }
  }
  if (selected && !counts.has(selected)) counts.set(selected, 0);
  return [...counts.entries()].map(([tag, count]) => ({ tag, count })).sort((a, b) => a.tag.localeCompare(b.tag));
}

/** The tag keys some nara carries, sorted, and `selected` too: what the table groups by. */
export function tagKeysOf(peers, selected = "") {
  const keys = new Set(selected ? [selected] : []);
  for (const peer of peers) for (const key of Object.keys(peer.tags ?? {})) keys.add(key);
  return [...keys].sort();
}

/** The group `peer` falls in when the table groups by `key`: its value, or "" without. */
export function groupOf(peer, key) {
  return peer.tags?.[key] ?? "";
}

/**
 * An order that puts the naras of one group together, by value (those without the tag
 * last), and keeps `within` inside each group.
 */
export function byGroup(key, within) {
  return (a, b) => {
    const ga = groupOf(a, key);
    const gb = groupOf(b, key);
    if (ga !== gb) return ga === "" ? 1 : gb === "" ? -1 : ga.localeCompare(gb);
    return within(a, b);
  };
}

/** How many of `peers` fall in each group of `key`, as a Map from value ("" for none). */
export function groupSizes(peers, key) {
  const sizes = new Map();
  for (const peer of peers) {
    const group = groupOf(peer, key);
    sizes.set(group, (sizes.get(group) ?? 0) + 1);
  }
  return sizes;
}
