// The page: this nara's identity and state, refreshed every few seconds.
import { useEffect, useState } from "preact/hooks";
import { fetchStatus } from "./api.js";
import { formatUptime } from "./format.js";

const REFRESH_MS = 5000;

export function App() {
  const [status, setStatus] = useState(null);
  const [error, setError] = useState(null);

  useEffect(() => {
    let cancelled = false;
    const load = () =>
      fetchStatus()
        .then((s) => !cancelled && (setStatus(s), setError(null)))
        .catch((e) => !cancelled && setError(e.message));
    load();
    const timer = setInterval(load, REFRESH_MS);
    return () => {
      cancelled = true;
      clearInterval(timer);
    };
  }, []);

  return (
    <main>
      <header>
        <h1 data-testid="nara-name">{status ? status.name : "nara"}</h1>
        <nav>
          <a href="/docs/">Docs</a>
        </nav>
      </header>
      {error && <p class="error" role="alert">Cannot reach this nara: {error}</p>}
      {status && (
        <dl class="facts">
          <div><dt>Version</dt><dd data-testid="nara-version">{status.version}</dd></div>
          <div><dt>Revision</dt><dd><code>{status.revision}</code></dd></div>
          <div><dt>Up for</dt><dd>{formatUptime(status.uptime_s)}</dd></div>
          <div><dt>Build</dt><dd>{status.profile}</dd></div>
        </dl>
      )}
      <p class="hint">
        This nara runs alone. Give it an MQTT broker and it joins the plaza, where it sees the
        other naras; the <a href="/docs/">docs</a> say how.
      </p>
    </main>
  );
}
