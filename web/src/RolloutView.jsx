// A rollout as it happens, live from the plaza: which versions run and where, who is
// still behind the newest (listed first, since they are what is left to do), and the
// version changes naras reported, newest first.
import { formatAgo, rollout } from "./format.js";

export function RolloutView({ peers, now }) {
  const { newest, rows, behind, timeline } = rollout(peers);
  if (rows.length === 0) return null;
  return (
    <section class="card" aria-labelledby="rollout-title">
      <h2 id="rollout-title">Rollout</h2>
      {behind.length > 0 && (
        <div class="behind-list">
          <h3>Behind {newest}</h3>
          <ul data-testid="behind">
            {behind.map(({ name, version }) => (
              <li key={name} data-peer={name}>
                {name} <span class="muted">runs {version}</span>
              </li>
            ))}
          </ul>
        </div>
      )}
      <ul class="versions" data-testid="version-summary">
        {rows.map((row) => (
          <li key={row.version || "unknown"} class={row.unknown ? "unknown" : row.behind ? "behind" : "newest"} data-version={row.version}>
            <span class="version">{row.unknown ? "not yet known" : row.version}</span>
            <span class="count">
              {row.count} {row.count === 1 ? "nara" : "naras"}
            </span>
            {!row.unknown && (row.behind ? <span class="tag">behind {newest}</span> : <span class="tag">newest</span>)}
            <span class="names">{row.names.join(", ")}</span>
          </li>
        ))}
      </ul>
      {timeline.length > 0 && (
        <div class="timeline">
          <h3>Version changes</h3>
          <ol data-testid="version-timeline">
            {timeline.map((change) => (
              <li key={`${change.name}-${change.at}-${change.to}`} data-peer={change.name}>
                <strong>{change.name}</strong> {change.from} → {change.to}{" "}
                <span class="muted">{formatAgo(change.at, now)}</span>
              </li>
            ))}
          </ol>
        </div>
      )}
    </section>
  );
}
