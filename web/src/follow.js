// Following the plaza: the live stream (/api/events) while nara serves one, polling
// /api/peers while it refuses one (503: it serves its most streams, in all or to this
// address), and back to the stream as soon as nara has room. The browser's EventSource,
// fetch and timers are parameters so `node --test` can drive them.

/** How often the page fetches /api/peers while it has no stream. */
export const POLL_EVERY_MS = 10000;
/** How long after a refusal the page asks for the stream again; doubled after each. */
export const REOPEN_FIRST_MS = 5000;
/** The longest it waits between two asks. */
export const REOPEN_MOST_MS = 60000;

const CHANGES = ["join", "change", "version-changed", "leave", "forget"];

/**
 * Follows the plaza. `onSnapshot(peers)` gets the full list on every (re)connection and
 * every poll, `onChange(event)` each join/change/version-changed/leave/forget, and
 * `onConnection(state)` "live", "reconnecting" or "polling". EventSource reconnects by
 * itself after a dropped stream (nara asks for 3 s); after a refusal it gives up (its
 * readyState is CLOSED), so the page polls and opens the stream again itself, after 5 s,
 * then 10, 20, up to 60 s while nara keeps refusing. Returns a function that stops all.
 */
export function follow({ onSnapshot, onChange, onConnection }, { EventSource, fetchPeers, setTimer, clearTimer }) {
  let source = null;
  let reopen = null;
  let reopenMs = REOPEN_FIRST_MS;
  let poll = null;
  // Each spell of polling has its number, so a fetch still out when the stream came
  // back (and maybe went again) is dropped rather than starting a second round.
  let polling = 0;
  let spell = 0;
  let stopped = false;

  const parse = (handler) => (event) => {
    try {
      handler(JSON.parse(event.data));
    } catch (err) {
      console.warn("nara: ignored an event that is not JSON", err);
    }
  };

  const pollOnce = async (mine) => {
    poll = null;
    let peers = null;
    try {
      peers = await fetchPeers();
    } catch {
      // nara is unreachable: the header says so, and the next poll tries again.
    }
    if (stopped || polling !== mine) return;
    if (peers) {
      onSnapshot(peers);
      onConnection("polling");
    } else {
      onConnection("reconnecting");
    }
    poll = setTimer(() => pollOnce(mine), POLL_EVERY_MS);
  };

  const stopPolling = () => {
    polling = 0;
    if (poll !== null) clearTimer(poll);
    poll = null;
  };

  const open = () => {
    reopen = null;
    source?.close();
    const stream = new EventSource("/api/events");
    source = stream;
    stream.addEventListener("open", () => {
      reopenMs = REOPEN_FIRST_MS;
      stopPolling();
      onConnection("live");
    });
    stream.addEventListener("error", () => {
      if (stream.readyState !== EventSource.CLOSED) {
        // A dropped stream: EventSource reconnects by itself.
        if (!polling) onConnection("reconnecting");
        return;
      }
      if (stopped || reopen !== null) return;
      if (!polling) {
        polling = ++spell;
        pollOnce(polling);
      }
      reopen = setTimer(open, reopenMs);
      reopenMs = Math.min(reopenMs * 2, REOPEN_MOST_MS);
    });
    stream.addEventListener("snapshot", parse((data) => onSnapshot(data.peers)));
    for (const kind of CHANGES) stream.addEventListener(kind, parse(onChange));
  };

  open();
  return () => {
    stopped = true;
    stopPolling();
    if (reopen !== null) clearTimer(reopen);
    source?.close();
  };
}
