// The network table's filter kept in the page's URL
// (?status=missing&version=0.2.0&tag=role:db&group=site&q=kit), so a view can be shared
// as a link and survives a reload, and back and forward step through the filters a
// reader chose. `status`, `version` and `tag` mean what they mean to /api/peers, which
// the page links to with the same filter; `group` is the tag key the table groups by.
// Pure functions, unit-tested with `node --test`.

/** The statuses the filter offers, in the table's order. */
export const STATUSES = ["ONLINE", "SUSPECT", "MISSING", "OFFLINE"];

/** No filter: every nara. */
export const NO_FILTER = Object.freeze({ status: "", version: "", tag: "", group: "", query: "" });

/**
 * The filter a query string asks for. A status the page does not know is read as none,
 * so an old or mistyped link still opens the page, on every nara.
 */
export function readFilter(search) {
  const params = new URLSearchParams(search);
  const status = (params.get("status") ?? "").trim().toUpperCase();
  return {
    status: STATUSES.includes(status) ? status : "",
    version: (params.get("version") ?? "").trim(),
    tag: (params.get("tag") ?? "").trim(),
    group: (params.get("group") ?? "").trim(),
    query: params.get("q") ?? "",
  };
}

/**
 * The query string (with its "?", or "" when empty) for `filter`, keeping whatever
 * other parameters `search` holds.
 */
export function writeFilter(filter, search = "") {
  const params = new URLSearchParams(search);
  const set = (key, value) => (value ? params.set(key, value) : params.delete(key));
  set("status", filter.status.toLowerCase());
  set("version", filter.version);
  set("tag", filter.tag ?? "");
  set("group", filter.group ?? "");
  set("q", filter.query);
  const text = params.toString();
  return text ? `?${text}` : "";
}

/** Whether two filters keep the same naras. */
export function sameFilter(a, b) {
  return (
    a.status === b.status &&
    a.version === b.version &&
    (a.tag ?? "") === (b.tag ?? "") &&
    (a.group ?? "") === (b.group ?? "") &&
    a.query === b.query
  );
}

/**
 * How a change of filter enters the history: a new entry ("push"), or in place of the
 * current one ("replace") while the reader types, so that back steps over a word, not a
 * letter; "none" when nothing changed. `typing` says a typed change already pushed an
 * entry since the last other step. Returns the step and whether typing goes on.
 */
export function historyStep(before, after, typing) {
  if (sameFilter(before, after)) return { step: "none", typing };
  const onlyText = sameFilter(before, { ...after, query: before.query });
  if (!onlyText) return { step: "push", typing: false };
  return { step: typing ? "replace" : "push", typing: true };
}

/** /api/peers with the part of `filter` the API takes (status, version and tag). */
export function apiLink(filter) {
  return `/api/peers${writeFilter({ ...filter, group: "", query: "" })}`;
}
