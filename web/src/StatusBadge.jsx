// A peer's status as a word and a colour, never the colour alone. A SUSPECT nara (the
// broker published its will; MISSING unless it answers) has a word of its
// own and an outline, so it reads apart from ONLINE and MISSING alike.
const LABELS = { ONLINE: "online", SUSPECT: "suspect", OFFLINE: "offline", MISSING: "missing" };
const TITLES = {
  SUSPECT: "The broker says its connection ended without a goodbye: MISSING unless it speaks",
};

export function StatusBadge({ status }) {
  return (
    <span class={`badge badge-${status.toLowerCase()}`} data-status={status} title={TITLES[status]}>
      {LABELS[status] ?? status}
    </span>
  );
}
