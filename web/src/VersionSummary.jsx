// Which versions the plaza runs, newest first, with those behind marked: an operator
// rolling out a release sees who is left.
import { versionSummary } from "./format.js";

export function VersionSummary({ peers }) {
  const rows = versionSummary(peers);
  if (rows.length === 0) return null;
  const newest = rows[0].version;
  return (
    <section class="card" aria-labelledby="versions-title">
      <h2 id="versions-title">Versions</h2>
      <ul class="versions" data-testid="version-summary">
        {rows.map((row) => (
          <li key={row.version} class={row.behind ? "behind" : "newest"}>
            <span class="version">{row.version}</span>
            <span class="count">
              {row.count} {row.count === 1 ? "nara" : "naras"}
            </span>
            {row.behind ? <span class="tag">behind {newest}</span> : <span class="tag">newest</span>}
          </li>
        ))}
      </ul>
    </section>
  );
}
