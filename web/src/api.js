// nara's API as the page uses it: status by request, the plaza as a live event stream.

export async function fetchStatus() {
  const response = await fetch("/api/status", { headers: { accept: "application/json" } });
  if (!response.ok) throw new Error(`/api/status answered ${response.status}`);
  return response.json();
}

/**
 * The rollout target the nara was configured with (`--rollout-target`), or null when it
 * infers one: the page infers the same target from its live list itself.
 */
export async function fetchConfiguredTarget() {
  const response = await fetch("/api/rollout", { headers: { accept: "application/json" } });
  if (!response.ok) throw new Error(`/api/rollout answered ${response.status}`);
  const rollout = await response.json();
  return rollout.target_source === "configured" ? rollout.target : null;
}

/** How long to wait before opening the stream again when the browser gave up on it. */
const REOPEN_AFTER_MS = 5000;

/**
 * Follows /api/events. `onSnapshot(peers)` gets the full list on every (re)connection,
 * `onChange(event)` each join/change/version-changed/leave/forget, `onConnection(state)` "live" or
 * "reconnecting". EventSource reconnects by itself after a dropped stream (the server
 * asks for 3 s); after a refusal (503 when nara serves its most streams) it gives up,
 * so the stream is opened again here after the time nara's Retry-After names.
 * Returns a function that closes the stream.
 */
export function followPlaza({ onSnapshot, onChange, onConnection }) {
  let source = null;
  let reopen = null;
  let closed = false;
  const parse = (handler) => (event) => {
    try {
      handler(JSON.parse(event.data));
    } catch (err) {
      console.warn("nara: ignored an event that is not JSON", err);
    }
  };
  const open = () => {
    reopen = null;
    source = new EventSource("/api/events");
    source.addEventListener("open", () => onConnection("live"));
    source.addEventListener("error", () => {
      onConnection("reconnecting");
      if (source.readyState === EventSource.CLOSED && !closed && reopen === null) {
        reopen = setTimeout(open, REOPEN_AFTER_MS);
      }
    });
    source.addEventListener("snapshot", parse((data) => onSnapshot(data.peers)));
    for (const kind of ["join", "change", "version-changed", "leave", "forget"]) source.addEventListener(kind, parse(onChange));
  };
  open();
  return () => {
    closed = true;
    if (reopen !== null) clearTimeout(reopen);
    source?.close();
  };
}
