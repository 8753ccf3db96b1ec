// nara's API as the page uses it: status by request, the plaza as a live event stream
// (or, while nara serves no more streams, a list fetched every few seconds).
import { follow } from "./follow.js";

export async function fetchStatus() {
  const response = await fetch("/api/status", { headers: { accept: "application/json" } });
  if (!response.ok) throw new Error(`/api/status answered ${response.status}`);
  return response.json();
}

export async function fetchPeers() {
  const response = await fetch("/api/peers", { headers: { accept: "application/json" } });
  if (!response.ok) throw new Error(`/api/peers answered ${response.status}`);
  return (await response.json()).peers;
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

/**
 * Follows the plaza in this browser (see follow.js): `onSnapshot(peers)`,
 * `onChange(event)`, `onConnection("live" | "reconnecting" | "polling")`. Returns a
 * function that stops following.
 */
export function followPlaza(handlers) {
  return follow(handlers, {
    EventSource,
    fetchPeers,
    setTimer: (fn, ms) => setTimeout(fn, ms),
    clearTimer: (id) => clearTimeout(id),
  });
}
