// Every nara this one knows, as a table on wide screens and cards on narrow ones.
import { StatusBadge } from "./StatusBadge.jsx";
import { formatAgo } from "./format.js";

const ORDER = { ONLINE: 0, MISSING: 1, OFFLINE: 2 };

export function PeerList({ peers, now }) {
  const sorted = [...peers].sort(
    (a, b) => (a.self ? -1 : b.self ? 1 : 0) || ORDER[a.status] - ORDER[b.status] || a.name.localeCompare(b.name),
  );
  return (
    <section class="card" aria-labelledby="network-title">
      <h2 id="network-title">
        The network <span class="muted">({peers.length})</span>
      </h2>
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
          {sorted.map((peer) => (
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
