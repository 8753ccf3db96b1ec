// Every nara this one knows, as a table on wide screens and cards on narrow ones, with
// how often this nara saw each restart (and "flapping" in words while it keeps doing
// so), its tags and its host health, sortable by a health column; a filter (status,
// version, tag, text), grouping by a tag key, and pages of 100, so a plaza of 10,000
// stays readable
// and quick. The filter lives in the page's URL, so a view can be shared and reloaded,
// and back and forward step through it.
import { useEffect, useRef, useState } from "preact/hooks";
import { HealthCells, HealthHeadings } from "./HealthColumns.jsx";
import { HEALTH_COLUMNS, nextSort } from "./health.js";
import { StatusBadge } from "./StatusBadge.jsx";
import { formatAgo } from "./format.js";
import { STATUSES, apiLink, historyStep, readFilter, writeFilter } from "./filterurl.js";
import { pageOf, versionsOf } from "./peerview.js";
import { GroupBy, GroupRow, TagFilter, TagList } from "./Tags.jsx";
import { groupOf } from "./tags.js";

/** The table's columns, for a group's row to span them: six, then the health's. */
const COLUMNS = 6 + HEALTH_COLUMNS.length;

/**
 * The filter as the URL holds it; `change` records a new one in the history (a word
 * typed is one step back, not a letter each), and back and forward bring theirs.
 */
function useUrlFilter(onStep) {
  const [filter, setFilter] = useState(() => readFilter(location.search));
  const typing = useRef(false);
  useEffect(() => {
    const stepped = () => {
      typing.current = false;
      setFilter(readFilter(location.search));
      onStep();
    };
    addEventListener("popstate", stepped);
    return () => removeEventListener("popstate", stepped);
  }, []);
  const change = (next) => {
    const decided = historyStep(filter, next, typing.current);
    typing.current = decided.typing;
    if (decided.step === "none") return;
    const url = `${location.pathname}${writeFilter(next, location.search)}${location.hash}`;
    if (decided.step === "push") history.pushState(null, "", url);
    else history.replaceState(null, "", url);
    setFilter(next);
    onStep();
  };
  const doneTyping = () => {
    typing.current = false;
  };
  return { filter, change, doneTyping };
}

/**
 * How often this nara saw `peer` restart, when last, and whether it is flapping: in
 * words, never by colour alone. A nara too old to count them shows nothing.
 */
function Restarts({ peer, now }) {
  if (typeof peer.restarts !== "number") return <td data-label="Restarts" />;
  const last = peer.last_restart ? `last restart ${formatAgo(peer.last_restart, now)}` : undefined;
  return (
    <td data-label="Restarts" data-restarts={peer.restarts} title={last}>
      {peer.restarts.toLocaleString("en")}
      {peer.flapping && (
        <span
          class="tag tag-flapping"
          data-testid="flapping"
          title="It restarted 3 times within 15 minutes"
        >
          flapping
        </span>
      )}
    </td>
  );
}

export function PeerList({ peers, now }) {
  const [page, setPage] = useState(0);
  const [sort, setSort] = useState(null);
  const { filter, change, doneTyping } = useUrlFilter(() => setPage(0));
  const view = pageOf(peers, { ...filter, page, sort });
  const sortBy = (key) => {
    setSort(nextSort(sort, key));
    setPage(0);
  };
  const versions = versionsOf(peers, filter.version);
  const last = view.first + view.rows.length - 1;
  return (
    <section class="card" aria-labelledby="network-title">
      <h2 id="network-title">
        The network <span class="muted">({peers.length.toLocaleString("en")})</span>
      </h2>
      <div class="peer-tools">
        <div class="peer-filters">
          <label>
            Status{" "}
            <select
              value={filter.status}
              data-testid="status-filter"
              onChange={(e) => change({ ...filter, status: e.currentTarget.value })}
            >
              <option value="">any</option>
              {STATUSES.map((status) => (
                <option key={status} value={status}>
                  {status}
                </option>
              ))}
            </select>
          </label>
          <label>
            Version{" "}
            <select
              value={filter.version}
              data-testid="version-filter"
              onChange={(e) => change({ ...filter, version: e.currentTarget.value })}
            >
              <option value="">any</option>
              {versions.map(({ version, count }) => (
                <option key={version} value={version}>
                  {version} ({count.toLocaleString("en")})
                </option>
              ))}
            </select>
          </label>
          <TagFilter peers={peers} value={filter.tag} onChange={(tag) => change({ ...filter, tag })} />
          <GroupBy peers={peers} value={filter.group} onChange={(group) => change({ ...filter, group })} />
          <label>
            Find{" "}
            <input
              type="search"
              value={filter.query}
              placeholder="name, version or status"
              data-testid="peer-filter"
              onInput={(e) => change({ ...filter, query: e.currentTarget.value })}
              onBlur={doneTyping}
            />
          </label>
          <a href={apiLink(filter)} data-testid="filter-json" title="These naras from the API (status, version and tag)">
            JSON
          </a>
        </div>
        <nav class="pager" aria-label="Pages of naras" data-testid="pager">
          <button type="button" disabled={view.page === 0} onClick={() => setPage(view.page - 1)}>
            Previous
          </button>
          <span data-testid="page-range">
            {view.total === 0
              ? "none match"
              : `${view.first.toLocaleString("en")}–${last.toLocaleString("en")} of ${view.total.toLocaleString("en")}`}
          </span>
          <button type="button" disabled={view.page >= view.pages - 1} onClick={() => setPage(view.page + 1)}>
            Next
          </button>
        </nav>
      </div>
      <table class="peers" data-testid="peers">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Status</th>
            <th scope="col">Version</th>
            <th scope="col">Last seen</th>
            <th scope="col">Restarts</th>
            <th scope="col">Tags</th>
            <HealthHeadings sort={sort} onSort={sortBy} />
          </tr>
        </thead>
        <tbody>
          {view.rows.flatMap((peer, i) => [
            filter.group && (i === 0 || groupOf(view.rows[i - 1], filter.group) !== groupOf(peer, filter.group)) ? (
              <GroupRow
                key={`group:${groupOf(peer, filter.group)}`}
                group={filter.group}
                value={groupOf(peer, filter.group)}
                size={view.groups.get(groupOf(peer, filter.group)) ?? 0}
                columns={COLUMNS}
              />
            ) : null,
            <tr key={peer.name} data-peer={peer.name} data-status={peer.status}>
              <th scope="row">
                {peer.name}
                {peer.self && <span class="muted"> (this nara)</span>}
              </th>
              <td>
                <StatusBadge status={peer.status} />
              </td>
              <td>
                {peer.version ? (
                  <code title={peer.revision ? `revision ${peer.revision}` : undefined}>{peer.version}</code>
                ) : (
                  <span class="muted" title="no newspaper from it yet">not yet known</span>
                )}
              </td>
              <td>{peer.self ? "now" : formatAgo(peer.last_seen, now)}</td>
              <Restarts peer={peer} now={now} />
              <TagList tags={peer.tags} />
              <HealthCells peer={peer} />
            </tr>,
          ])}
        </tbody>
      </table>
    </section>
  );
}
