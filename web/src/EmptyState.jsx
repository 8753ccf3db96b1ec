// What a nara on its own shows: how to join a plaza, under its own name.
export function EmptyState({ plaza, name }) {
  if (plaza.configured && !plaza.connected) {
    const trouble = plaza.broker_trouble;
    return (
      <section class="card empty" data-testid="empty-state">
        <h2>Not on the plaza yet</h2>
        <p>
          This nara has a broker ({plaza.broker}) but is not connected to it
          {trouble ? `: ${trouble.message}` : "; it keeps trying."}
        </p>
        <p>
          <a href="/docs/troubleshooting.html">Troubleshooting</a> lists what each message means.
        </p>
      </section>
    );
  }
  if (plaza.configured && plaza.read_only) {
    return (
      <section class="card empty" data-testid="empty-state">
        <h2>No other naras yet</h2>
        <p>
          This nara is connected to its broker and watches with <code>--read-only</code>: it sends nothing. The
          broker holds each nara's newspaper for whoever subscribes, and holds none yet: new naras appear here
          as soon as they join. A Go nara's newspapers are not held, so one appears at its next newspaper, 30
          seconds to 5 minutes away.
        </p>
      </section>
    );
  }
  if (plaza.configured) {
    return (
      <section class="card empty" data-testid="empty-state">
        <h2>No other naras yet</h2>
        <p>
          This nara is connected to its broker, but no other nara has announced itself yet. The broker holds
          each nara's newspaper for newcomers, so naras already on the plaza show at once, and new ones appear
          here as soon as they join. A Go nara's newspapers are not held, so one appears at its next
          newspaper, 30 seconds to 5 minutes away.
        </p>
      </section>
    );
  }
  return (
    <section class="card empty" data-testid="empty-state">
      <h2>This nara runs alone</h2>
      <p>
        Give it an MQTT broker and it joins the <strong>plaza</strong>, where naras see each other and the
        versions they run:
      </p>
      <pre>
        <code>nara --name {name} --mqtt-url mqtt://broker.lan:1883 --soul-file /etc/nara/soul</code>
      </pre>
      <p>
        <a href="/docs/plaza.html">The plaza chapter</a> explains souls, brokers and how to run one for a
        fleet.
      </p>
    </section>
  );
}
