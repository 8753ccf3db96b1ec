// Every nara this one knows, as a table on wide screens and cards on narrow ones; a
// filter and pages of 100, so a plaza of 10,000 stays readable and quick.
import { useState } from "preact/hooks";
import { StatusBadge } from "./StatusBadge.jsx";
import { formatAgo } from "./format.js";
import { pageOf } from "./peerview.js";

export function PeerList({ peers, now }) {
  const [query, setQuery] = useState("");
  const [page, setPage] = useState(0);
  const view = pageOf(peers, { query, page });
  const last = view.first + view.rows.length - 1;
  return (
    <section class="card" aria-labelledby="network-title">
      <h2 id="network-title">
        The network <span class="muted">({peers.length.toLocaleString("en")})</span>
      </h2>
      <div class="peer-tools">
        <label>
          Find{" "}
          <input
            type="search"
            value={query}
            placeholder="name, version or status"
            data-testid="peer-filter"
            onInput={(e) => {
              setQuery(e.currentTarget.value);
              setPage(0);
            }}
          />
        </label>
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
          </tr>
        </thead>
        <tbody>
          {view.rows.map((peer) => (
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
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
