// A peer's status as a word and a colour, never the colour alone.
const LABELS = { ONLINE: "online", OFFLINE: "offline", MISSING: "missing" };

export function StatusBadge({ status }) {
  return (
    <span class={`badge badge-${status.toLowerCase()}`} data-status={status}>
      {LABELS[status] ?? status}
    </span>
  );
}
