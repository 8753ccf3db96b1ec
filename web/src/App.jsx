// The page: this nara, the plaza's versions, and every nara it knows, live (or polled,
// while nara serves no more live streams).
//
// A plaza may hold 10,000 naras and churn thousands of events a second, so events
// update a map in place and the page redraws at most every RENDER_EVERY_MS, and
// /api/status (whose counts an event changes) is fetched at most once a second.
import { useEffect, useRef, useState } from "preact/hooks";
import { fetchConfiguredTarget, fetchPeers, fetchStatus, followPlaza } from "./api.js";
import { EmptyState } from "./EmptyState.jsx";
import { HEALTH_REFRESH_MS, mergeHealth } from "./health.js";
import { Header } from "./Header.jsx";
import { PeerList } from "./PeerList.jsx";
import { RolloutView } from "./RolloutView.jsx";
import { throttle } from "./throttle.js";

const STATUS_REFRESH_MS = 10000;
const STATUS_AT_MOST_EVERY_MS = 1000;
const RENDER_EVERY_MS = 250;

export function App() {
  const [status, setStatus] = useState(null);
  const [error, setError] = useState(null);
  const peers = useRef(new Map());
  const [, setDrawn] = useState(0);
  const [connection, setConnection] = useState("connecting");
  const [now, setNow] = useState(Date.now());
  const [statusAt, setStatusAt] = useState(Date.now());
  const [target, setTarget] = useState(null);

  useEffect(() => {
    let cancelled = false;
    const load = () =>
      fetchStatus()
        .then((s) => {
          if (cancelled) return;
          setStatus(s);
          setStatusAt(Date.now());
          setError(null);
        })
        .catch((e) => !cancelled && setError(e.message));
    const loadSoon = throttle(load, STATUS_AT_MOST_EVERY_MS);
    // A configured target changes only with a restart: read at start and with each
    // periodic refresh, never per event.
    const loadTarget = () =>
      fetchConfiguredTarget()
        .then((t) => !cancelled && setTarget(t))
        .catch(() => {});
    loadTarget();
    const targetTimer = setInterval(loadTarget, STATUS_REFRESH_MS);
    const redraw = throttle(() => !cancelled && setDrawn((n) => n + 1), RENDER_EVERY_MS);
    loadSoon();
    const timer = setInterval(loadSoon, STATUS_REFRESH_MS);
    const clock = setInterval(() => setNow(Date.now()), 1000);
    // Health changes with no event (see health.js): read again while someone looks.
    const refreshHealth = () =>
      document.visibilityState === "visible" &&
      fetchPeers()
        .then((list) => !cancelled && mergeHealth(peers.current, list) > 0 && redraw())
        .catch(() => {});
    const healthTimer = setInterval(refreshHealth, HEALTH_REFRESH_MS);
    const close = followPlaza({
      onSnapshot: (list) => {
        peers.current = new Map(list.map((p) => [p.name, p]));
        redraw();
      },
      onChange: (event) => {
        if (event.type === "forget") peers.current.delete(event.peer.name);
        else peers.current.set(event.peer.name, event.peer);
        redraw();
        loadSoon();
      },
      onConnection: setConnection,
    });
    return () => {
      cancelled = true;
      loadSoon.cancel();
      redraw.cancel();
      clearInterval(timer);
      clearInterval(targetTimer);
      clearInterval(clock);
      clearInterval(healthTimer);
      close();
    };
  }, []);

  const list = [...peers.current.values()];
  const others = list.filter((p) => !p.self);
  const uptime = status ? status.uptime_s + (now - statusAt) / 1000 : 0;

  return (
    <div class="page">
      <a class="skip" href="#network-title">
        Skip to the network
      </a>
      {error && (
        <p class="error" role="alert">
          Cannot reach this nara: {error}
        </p>
      )}
      {!error || status ? <Header status={status} uptime={uptime} connection={connection} /> : null}
      <main>
        {others.length === 0 && status && <EmptyState plaza={status.plaza} name={status.name} />}
        {others.length > 0 && <RolloutView peers={list} now={now} target={target} />}
        {list.length > 0 && <PeerList peers={list} now={now} />}
      </main>
      <footer>
        <a href="/docs/">Documentation</a> · <a href="/api/peers">/api/peers</a> ·{" "}
        <a href="/metrics">/metrics</a>
      </footer>
    </div>
  );
}
