// nara's API as the page uses it: status by request, the plaza as a live event stream.

export async function fetchStatus() {
  const response = await fetch("/api/status", { headers: { accept: "application/json" } });
  if (!response.ok) throw new Error(`/api/status answered ${response.status}`);
  return response.json();
}

/**
 * Follows /api/events. `onSnapshot(peers)` gets the full list on every (re)connection,
 * `onChange(event)` each join/change/version-changed/leave/forget, `onConnection(state)` "live" or
 * "reconnecting". EventSource reconnects by itself (the server asks for 3 s).
 * Returns a function that closes the stream.
 */
export function followPlaza({ onSnapshot, onChange, onConnection }) {
  const source = new EventSource("/api/events");
  const parse = (handler) => (event) => {
    try {
      handler(JSON.parse(event.data));
    } catch (err) {
      console.warn("nara: ignored an event that is not JSON", err);
    }
  };
  source.addEventListener("open", () => onConnection("live"));
  source.addEventListener("error", () => onConnection("reconnecting"));
  source.addEventListener("snapshot", parse((data) => onSnapshot(data.peers)));
  for (const kind of ["join", "change", "version-changed", "leave", "forget"]) source.addEventListener(kind, parse(onChange));
  return () => source.close();
}
