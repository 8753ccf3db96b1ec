// The page: this nara, the plaza's versions, and every nara it knows, live (or polled,
// while nara serves no more live streams).
//
// A plaza may hold 10,000 naras and churn thousands of events a second, so events
// update a map in place and the page redraws at most every RENDER_EVERY_MS, and
// /api/status (whose counts an event changes) is fetched at most once a second.
import { useEffect, useRef, useState } from "preact/hooks";
import { fetchStatus, followPlaza } from "./api.js";
import { EmptyState } from "./EmptyState.jsx";
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
    const redraw = throttle(() => !cancelled && setDrawn((n) => n + 1), RENDER_EVERY_MS);
    loadSoon();
    const timer = setInterval(loadSoon, STATUS_REFRESH_MS);
    const clock = setInterval(() => setNow(Date.now()), 1000);
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
      clearInterval(clock);
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
        {others.length > 0 && <RolloutView peers={list} now={now} />}
        {list.length > 0 && <PeerList peers={list} now={now} />}
      </main>
      <footer>
        <a href="/docs/">Documentation</a> · <a href="/api/peers">/api/peers</a> ·{" "}
        <a href="/metrics">/metrics</a>
      </footer>
    </div>
  );
}
