// A rollout as it happens, live from the plaza: which versions run and where, who is
// still behind the target (--rollout-target, else the newest; listed first, since they
// are what is left to do), and the
// version changes naras reported, newest first. Long lists show their first names and
// how many more, so a plaza of 10,000 stays one screen.
import { formatAgo } from "./format.js";
import { firstOf, rollout } from "./rollout.js";

const BEHIND_SHOWN = 10;
const NAMES_SHOWN = 12;

function Names({ names }) {
  const { shown, more } = firstOf(names, NAMES_SHOWN);
  return (
    <span class="names">
      {shown.join(", ")}
      {more > 0 && ` and ${more.toLocaleString("en")} more`}
    </span>
  );
}

export function RolloutView({ peers, now, target = null }) {
  const { newest, rows, behind, timeline } = rollout(peers, { target });
  if (rows.length === 0) return null;
  const behindShown = firstOf(behind, BEHIND_SHOWN);
  return (
    <section class="card" aria-labelledby="rollout-title">
      <h2 id="rollout-title">Rollout</h2>
      {behind.length > 0 && (
        <div class="behind-list">
          <h3>
            Behind {newest} <span class="muted">({behind.length.toLocaleString("en")})</span>
          </h3>
          <ul data-testid="behind">
            {behindShown.shown.map(({ name, version }) => (
              <li key={name} data-peer={name}>
                {name} <span class="muted">runs {version}</span>
              </li>
            ))}
            {behindShown.more > 0 && <li class="muted">and {behindShown.more.toLocaleString("en")} more</li>}
          </ul>
        </div>
      )}
      <ul class="versions" data-testid="version-summary">
        {rows.map((row) => (
          <li key={row.version || "unknown"} class={row.unknown ? "unknown" : row.behind ? "behind" : "newest"} data-version={row.version}>
            <span class="version">{row.unknown ? "not yet known" : row.version}</span>
            <span class="count">
              {row.count.toLocaleString("en")} {row.count === 1 ? "nara" : "naras"}
            </span>
            {!row.unknown && (row.behind ? <span class="tag">behind {newest}</span> : <span class="tag">newest</span>)}
            <Names names={row.names} />
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
