// This nara: who it is, what it runs, how long it has been up, and its plaza link (or
// "standby" while another process with its soul speaks for it); and a quiet line while
// the page polls because nara serves it no live stream.
import { POLL_EVERY_MS } from "./follow.js";
import { formatDuration } from "./format.js";

function plazaState(status, connection) {
  const plaza = status.plaza;
  if (!plaza.configured) return { word: "alone", detail: "no broker configured" };
  if (!plaza.connected) return { word: "disconnected", detail: `retrying ${plaza.broker}` };
  if (connection !== "live" && connection !== "polling") return { word: "reconnecting", detail: "to this nara's event stream" };
  if (plaza.role?.role === "standby") return { word: "standby", detail: plaza.role.reason };
  return { word: "on the plaza", detail: plaza.broker };
}

// Until /api/status answers: the frame of the header, so the page does not jump.
function Placeholder() {
  return (
    <header class="header" aria-busy="true">
      <div class="identity">
        <h1 class="placeholder">nara</h1>
        <p class="id">asking this nara who it is…</p>
      </div>
    </header>
  );
}

export function Header({ status, uptime, connection }) {
  if (!status) return <Placeholder />;
  const plaza = plazaState(status, connection);
  return (
    <header class="header">
      <div class="identity">
        <h1 data-testid="nara-name">{status.name}</h1>
        <p class="id" title="nara ID">
          {status.id}
          {!status.bonded && <span class="warn"> · soul minted for another name</span>}
        </p>
      </div>
      {status.bond_advice && (
        <p class="banner" role="alert" data-testid="bond-advice">
          <strong>Check this nara's name.</strong> {status.bond_advice}
        </p>
      )}
      <dl class="facts">
        <div>
          <dt>Version</dt>
          <dd data-testid="nara-version">{status.version}</dd>
        </div>
        <div>
          <dt>Revision</dt>
          <dd>
            <code>{status.revision}</code>
          </dd>
        </div>
        <div>
          <dt>Up for</dt>
          <dd>{formatDuration(uptime)}</dd>
        </div>
        <div>
          <dt>Plaza</dt>
          <dd data-testid="plaza-state" title={plaza.detail}>
            {plaza.word}
          </dd>
        </div>
      </dl>
      {connection === "polling" && (
        <p class="stream-note" role="status" data-testid="stream-note">
          This nara serves its most live streams just now, so the list refreshes every {POLL_EVERY_MS / 1000} s.
        </p>
      )}
    </header>
  );
}
