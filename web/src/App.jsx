// The page: this nara, the plaza's versions, and every nara it knows, live.
import { useEffect, useReducer, useState } from "preact/hooks";
import { fetchStatus, followPlaza } from "./api.js";
import { EmptyState } from "./EmptyState.jsx";
import { Header } from "./Header.jsx";
import { PeerList } from "./PeerList.jsx";
import { RolloutView } from "./RolloutView.jsx";

const STATUS_REFRESH_MS = 10000;

function peersReducer(peers, action) {
  switch (action.type) {
    case "snapshot":
      return new Map(action.peers.map((p) => [p.name, p]));
    case "event": {
      const next = new Map(peers);
      if (action.event.type === "forget") next.delete(action.event.peer.name);
      else next.set(action.event.peer.name, action.event.peer);
      return next;
    }
    default:
      return peers;
  }
}

export function App() {
  const [status, setStatus] = useState(null);
  const [error, setError] = useState(null);
  const [peers, dispatch] = useReducer(peersReducer, new Map());
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
    load();
    const timer = setInterval(load, STATUS_REFRESH_MS);
    const clock = setInterval(() => setNow(Date.now()), 1000);
    const close = followPlaza({
      onSnapshot: (list) => dispatch({ type: "snapshot", peers: list }),
      onChange: (event) => {
        dispatch({ type: "event", event });
        load();
      },
      onConnection: setConnection,
    });
    return () => {
      cancelled = true;
      clearInterval(timer);
      clearInterval(clock);
      close();
    };
  }, []);

  const list = [...peers.values()];
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
        {others.length === 0 && status && <EmptyState configured={status.plaza.configured} />}
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
