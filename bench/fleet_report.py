"""The Fleet section's Markdown and its targets (the issue's, at N = 200 real naras and
N = 1,000 simulated), from what bench/fleet.py measured: `table(report)` for
bench/results/fleet.md and latest.md, `targets(report)` for make bench's targets table
(the last binary, "after", at both sizes)."""

MIB = 1024


def seconds(value, deadline=None):
    if value is None:
        return f"> {deadline:.0f} s" if deadline else "n/a"
    return f"{value:.1f} s"


def share(value):
    return "n/a" if value is None else f"{value * 100:.0f} %"


def duration_s(text):
    """Seconds in a duration as nara's settings write it ("6m", "30s", "1m30s"), or None."""
    total, number = 0.0, ""
    units = {"h": 3600, "m": 60, "s": 1}
    for ch in text or "":
        if ch.isdigit() or ch == ".":
            number += ch
        elif ch in units and number:
            total, number = total + float(number) * units[ch], ""
        else:
            return None
    return total if not number else None


def by_silence(run):
    """What silence alone gives, by the binary's settings: MISSING comes missing_after
    after the last newspaper, which was up to an interval before the fault, and the view
    is swept every second."""
    settings = run.get("settings", {})
    missing = duration_s(settings.get("plaza_missing_after"))
    every = duration_s(settings.get("plaza_newspaper_interval"))
    if missing is None or every is None:
        return ""
    return f"; by silence alone {missing - every:.0f}–{missing + 1:.0f} s by its settings"


def p50_p99(spread, run=None):
    if spread.get("seen", 0) == 0:
        return f"> {spread['deadline_s']:.0f} s (none of {spread['expected']}{by_silence(run) if run else ''})"
    text = f"{seconds(spread.get('p50_s'), spread['deadline_s'])} / {seconds(spread.get('p99_s'), spread['deadline_s'])}"
    if spread["seen"] < spread["expected"]:
        text += f" ({spread['seen']} of {spread['expected']} seen)"
    return text


def join_estimate(join, simulated):
    """The figure a join's cost is held to: among simulated members, the real naras'
    answers scaled to N; else the estimate by schedule."""
    if simulated and join.get("real", {}).get("scaled_to_n") is not None:
        return join["real"]["scaled_to_n"]
    return join["raw"] if join["estimate"] is None else join["estimate"]


def schedule_text(join):
    estimate = "n/a" if join["estimate"] is None else f"{join['estimate']:.0f}"
    return (f"{estimate} ({join['answers_of_not_due']} from the {join['not_due']} not due a newspaper; "
            f"{join['raw']} in all in {join['window_s']:.0f} s)")


def join_text(join):
    """A join at a moment picked quiet by the schedule: the estimate by schedule, and the
    one by rate beside it (biased low by that pick)."""
    if "rate_excess" not in join:
        return schedule_text(join)
    return f"{schedule_text(join)[:-1]}; by rate {rate_text(join)}, at a moment picked quiet)"


def rate_text(join):
    """The estimate by rate: the window's count less what the rate before brings, ± 2 σ."""
    return f"{join['rate_excess']:+.0f} ± {2 * join['rate_sd']:.0f}"


def join_among_simulated(join):
    """A join among simulated members, which answer nothing by construction: the real
    naras' answers (messages sooner than the cadence law allows) scaled to N first, then
    the whole plaza's count by rate."""
    if "real" not in join:
        return schedule_text(join)
    real = join["real"]
    unknown = real.get("unknown", 0)
    early = f", and {unknown} sooner from naras not yet at the law's pace (a new phase)" if unknown else ""
    return (f"{real['scaled_to_n']:.0f} (the {real['naras']} real naras sent {real['sent']} in {join['window_s']:.0f} s, "
            f"{real['answers']} of them sooner than the law's {real['soonest_s']:.0f} s after their last{early}; "
            "scaled to N. "
            f"By rate, the whole plaza: {rate_text(join)}, {join['raw']} against {join['rate_expected']:.0f} at the "
            "rate of the minute before)")


def restart_text(restart):
    back = restart["all_online_again_s"]
    again = "throughout" if not restart["noticed"] else f"again after {seconds(back, 90)}"
    return (f"{restart['false_missing']} (off ONLINE: {restart['noticed']} pairs; broker down {restart['down_s']:.1f} s; "
            f"all ONLINE {again}; "
            f"all connected again after {seconds(restart['clients_back_s'], restart['deadline_s'])}; "
            f"{restart['messages']:,} messages in the first {restart['messages_in_s']:.0f} s)")


def replay_text(replay):
    if replay["replayed"] is None:
        return f"none ({replay['why']})"
    return (f"off ONLINE {replay['off_online_max_s']:.1f} s at most, "
            f"MISSING at {replay['missing_at_observers']} observers")


ROWS = [
    # (what, target, how to show a run)
    ("Mass start until every observer sees all N ONLINE", "",
     lambda r: seconds(r["start"]["settled_s"])),
    ("Messages the others publish for one join (estimate)", "≤ 10",
     lambda r: join_text(r["join"])),
    ("A newcomer sees all N ONLINE (from its start)", "≤ 3 s",
     lambda r: seconds(r["join"]["newcomer_s"], r["join"]["deadline_s"])),
    ("A read-only watcher sees all N ONLINE (from its start)", "≤ 3 s",
     lambda r: seconds(r["watcher"]["seconds"], r["watcher"]["deadline_s"])),
    ("Steady state: messages/s (newspapers)", "",
     lambda r: f"{r['steady']['messages_per_s']:.1f} ({r['steady']['newspapers'] / r['steady']['seconds']:.1f})"),
    ("Steady state: deliveries/s", "",
     lambda r: f"{r['steady'].get('deliveries_per_s', 0):,.0f}"),
    ("Largest 3 s share of a minute's newspapers after the mass start (from 30 s after settling)", "≤ 20 %",
     lambda r: share(r["steady"]["largest_3s_share"])),
    ("Crash (SIGKILL) → MISSING at every observer, p50 / p99", "p99 ≤ 5 s",
     lambda r: p50_p99(r["faults"]["crash"]["missing"], r)),
    ("Freeze (SIGSTOP) → noticed, p50 / p99", "≤ 90 s",
     lambda r: p50_p99(r["faults"]["freeze"]["noticed"])),
    ("Freeze (SIGSTOP) → MISSING, p50 / p99", "≤ 90 s",
     lambda r: p50_p99(r["faults"]["freeze"]["missing"], r)),
    ("Link cut with RST → MISSING, p50 / p99", "≤ 90 s",
     lambda r: p50_p99(r["faults"]["cut_rst"]["missing"], r)),
    ("Link cut into a black hole → MISSING, p50 / p99", "≤ 90 s",
     lambda r: p50_p99(r["faults"]["cut_hole"]["missing"], r)),
    ("A twin's takeover after SIGKILL of the active one", "≤ 5 s",
     lambda r: seconds(r["faults"]["twin"]["takeover_s"], r["faults"]["twin"]["deadline_s"])),
    ("Brief link cuts (1 s, RST): false MISSING (observer × nara)", "0",
     lambda r: f"{r['faults']['brief']['false_missing']} (off ONLINE: {r['faults']['brief']['noticed']})"),
    ("A will replayed later (the RST cut's)", "≤ 3 s, never MISSING",
     lambda r: replay_text(r["replay"])),
    ("Broker restart without persistence: false MISSING", "0",
     lambda r: restart_text(r["restarts"][0])),
    ("Broker restart with persistence: false MISSING", "0",
     lambda r: restart_text(r["restarts"][1])),
    ("False MISSING anywhere else in the run", "0",
     lambda r: str(r["false_missing"]["total"])),
    ("Resident memory per nara, median (max)", "",
     lambda r: f"{r['memory']['rss_median_kib'] / MIB:.1f} MiB ({r['memory']['rss_max_kib'] / MIB:.1f} MiB)"),
    ("CPU per nara, steady state", "",
     lambda r: "n/a" if r["memory"]["cpu_s_per_nara_minute"] is None
     else f"{r['memory']['cpu_s_per_nara_minute'] * 1000:.0f} ms/min"),
]


def computed_before(report):
    """The "before" at the simulated size, computed (the issue allows it): from the first
    binary's settings, and the rates its real fleet was measured at, scaled to N."""
    sim = report["simulated"]
    n = sim["naras"]
    settings = sim["before"]["settings"]
    every = duration_s(settings.get("plaza_newspaper_interval")) or 30.0
    real = next((r for r in report.get("runs", []) if r["binary"] == sim["before"]["binary"]), None)
    out = {"n": n, "every": every, "silence": by_silence(sim["before"]).removeprefix("; ")}
    try:
        per_nara = real["steady"]["messages_per_s"] / real["naras"]
        out["rate_from"] = f"{real['steady']['messages_per_s']:.1f}/s measured at N = {real['naras']}"
        out["answers"] = real["join"]["estimate"] / (real["naras"] - 1)
        out["answers_from"] = f"{real['join']['estimate']:.0f} of {real['naras'] - 1} measured at N = {real['naras']}"
        out["watcher_from"] = f"{real['watcher']['seconds']:.1f} s measured at N = {real['naras']}"
        out["share_from"] = f"{real['steady']['largest_3s_share'] * 100:.0f} % measured at N = {real['naras']}"
        twin = real["faults"]["twin"]
        out["twin"] = f"{seconds(twin['takeover_s'], twin['deadline_s'])} measured at N = {real['naras']}"
    except (KeyError, TypeError, ZeroDivisionError):
        per_nara, out["answers"] = 1 / every, 1.0
        out["rate_from"] = out["answers_from"] = f"a newspaper every {every:.0f} s each"
        out["watcher_from"] = out["share_from"] = out["twin"] = "not measured"
    out["messages_per_s"] = per_nara * n
    out["deliveries_per_s"] = per_nara * n * n  # each to every nara (none subscribes with No Local)
    out["join"] = out["answers"] * (n - 1)
    return out


def simulated_rows(report):
    """(what, target, before computed, after measured) at the simulated size."""
    r = report["simulated"]
    b = computed_before(report)
    n = b["n"]
    crash_before = f"{b['silence'] or 'by silence'} (computed)"
    sim_join = lambda x: join_among_simulated(x["sim_join"])  # noqa: E731
    memory = lambda x: (f"observers {x['memory']['rss_median_kib'] / MIB:.1f} MiB median; the simulator "  # noqa: E731
                        f"{x['memory']['sim_rss_kib'] / MIB:.0f} MiB for {x['memory']['sim_members']:,} members "
                        f"({x['memory']['sim_rss_kib'] / x['memory']['sim_members']:.0f} KiB each)")
    return [
        ("Mass start until every observer sees all N ONLINE", "", "n/a",
         cell(lambda x: seconds(x["start"]["settled_s"]), r)),
        ("Messages the others publish for one join (a real newcomer; estimate)", "≤ 10",
         f"{b['join']:,.0f} (every nara answers a hello: {b['answers_from']})", cell(lambda x: join_among_simulated(x["join"]), r)),
        ("Messages the others publish for one join (a simulated member; estimate)", "≤ 10",
         f"{b['join']:,.0f} (as above)", cell(sim_join, r)),
        ("A newcomer sees all N ONLINE (from its start)", "≤ 3 s", "n/a",
         cell(lambda x: seconds(x["join"]["newcomer_s"], x["join"]["deadline_s"]), r)),
        ("Every observer sees a simulated newcomer ONLINE (from its join)", "", "n/a",
         cell(lambda x: seconds(x["sim_join"]["observers_see_s"], x["sim_join"]["deadline_s"]), r)),
        ("A read-only watcher sees all N ONLINE (from its start)", "≤ 3 s",
         f"up to {b['every']:.0f} s, each nara's next newspaper ({b['watcher_from']})",
         cell(lambda x: seconds(x["watcher"]["seconds"], x["watcher"]["deadline_s"]), r)),
        ("Steady state: messages/s (newspapers)", "",
         f"{b['messages_per_s']:,.1f} ({b['rate_from']}, × N)",
         cell(lambda x: f"{x['steady']['messages_per_s']:.1f} ({x['steady']['newspapers'] / x['steady']['seconds']:.1f})", r)),
        ("Steady state: deliveries/s", "", f"{b['deliveries_per_s']:,.0f} (messages/s × N)",
         cell(lambda x: f"{x['steady'].get('deliveries_per_s', 0):,.0f}", r)),
        ("Largest 3 s share of a minute's newspapers after the mass start", "≤ 20 %", f"n/a ({b['share_from']})",
         cell(lambda x: share(x["steady"]["largest_3s_share"]), r)),
        ("Crash (member's socket dropped) → MISSING at every observer, p50 / p99", "p99 ≤ 5 s", crash_before,
         cell(lambda x: p50_p99(x["faults"]["crash"]["missing"]), r)),
        ("Freeze (member stops reading and writing) → noticed, p50 / p99", "≤ 90 s", crash_before,
         cell(lambda x: p50_p99(x["faults"]["freeze"]["noticed"]), r)),
        ("Freeze → MISSING, p50 / p99", "≤ 90 s", crash_before,
         cell(lambda x: p50_p99(x["faults"]["freeze"]["missing"]), r)),
        ("Link cut with RST → MISSING, p50 / p99", "≤ 90 s", crash_before,
         cell(lambda x: p50_p99(x["faults"]["cut_rst"]["missing"]), r)),
        ("Link cut into a black hole → MISSING, p50 / p99", "≤ 90 s", crash_before,
         cell(lambda x: p50_p99(x["faults"]["cut_hole"]["missing"]), r)),
        ("A twin's takeover after SIGKILL of the active one (a real soul run twice)", "≤ 5 s",
         b["twin"],
         cell(lambda x: seconds(x["faults"]["twin"]["takeover_s"], x["faults"]["twin"]["deadline_s"]), r)),
        ("Brief link cuts (1 s, RST): false MISSING (observer × nara)", "0", "n/a",
         cell(lambda x: f"{x['faults']['brief']['false_missing']} (off ONLINE: {x['faults']['brief']['noticed']})", r)),
        ("A will replayed later (the RST cut's)", "≤ 3 s, never MISSING", "n/a (no will)",
         cell(lambda x: replay_text(x["replay"]), r)),
        ("Broker restart without persistence: false MISSING", "0", "n/a",
         cell(lambda x: restart_text(x["restarts"][0]), r)),
        ("Broker restart with persistence: false MISSING", "0", "n/a",
         cell(lambda x: restart_text(x["restarts"][1]), r)),
        ("False MISSING anywhere else in the run", "0", "n/a", cell(lambda x: str(x["false_missing"]["total"]), r)),
        ("Resident memory", "", "n/a", cell(memory, r)),
    ]


def simulated_table(report):
    r = report["simulated"]
    lines = [
        f"### At N = {r['naras']:,}: one simulator, {r['observers']} real observers",
        "",
        f"{r['simulated']:,} members held by one process (`examples/fleet_sim.rs`: each its own soul, secret client ID, "
        "MQTT 5 connection, signed will and retained newspapers at the cadence law's interval) and "
        f"{r['observers']} real naras of the \"{r['binary']}\" binary as the observers, on one mosquitto; "
        "the newcomer, the watcher and a soul run twice (two processes) are real naras too. The other victims are members: a crash drops the member's socket "
        "without DISCONNECT, a freeze stops it reading and writing; cuts go through the proxy. "
        f"The \"before\" column is computed, not run: from the \"{r['before']['binary']}\" binary's settings and "
        "the rates its real fleet showed above, scaled to N.",
        "",
        f"| Figure | Target | {r['before']['binary']} (computed) | {r['binary']} |",
        "| --- | --- | --- | --- |",
    ]
    for what, target, before, after in simulated_rows(report):
        lines.append(f"| {what} | {target} | {before} | {after} |")
    lines += ["", "Where the time went (seconds): " + ", ".join(
        f"{p['phase']} {p['seconds']:.0f}" for p in r.get("phases", [])) + ".", ""]
    return lines


def cell(show, run):
    try:
        return show(run)
    except (KeyError, TypeError, IndexError, ZeroDivisionError):
        return "n/a"


def table(report):
    lines = real_table(report) if report.get("runs") else ["## Fleet", ""]
    if report.get("simulated"):
        lines += simulated_table(report)
    return lines


def real_table(report):
    runs = report["runs"]
    n = runs[0]["naras"] if runs else 0
    lines = [
        "## Fleet",
        "",
        f"Run {report['date']}, {report['seconds'] / 60:.1f} minutes: `{report['command']}`. "
        f"{n} real naras (release builds, each pinned to one core, flags at their defaults) on one mosquitto "
        "on loopback, each through its own link of a controllable proxy (`bench/fleet_proxy.py`); "
        f"{runs[0]['observers'] if runs else 0} of them are the observers, read through their `/api/events` streams; "
        "an MQTT subscriber counts every message (`bench/fleet.py` says how each figure is taken). "
        f"mosquitto runs with its open-file limit raised to the hard limit ({runs[0].get('open_files_hard', 0) if runs else 0:,} here). "
        "A figure not reached within its deadline is shown as \"> deadline\".",
        "",
        "| Figure | Target | " + " | ".join(r["binary"] for r in runs) + " |",
        "| --- | --- | " + " | ".join("---" for _ in runs) + " |",
    ]
    for what, target, show in ROWS:
        lines.append(f"| {what} | {target} | " + " | ".join(cell(show, r) for r in runs) + " |")
    lines += ["", "Binaries and the settings they ran with (`nara check-config`):", ""]
    for r in runs:
        settings = ", ".join(f"{k.removeprefix('plaza_')} {v}" for k, v in r.get("settings", {}).items())
        lines.append(f"- {r['binary']}: `{r['path']}` (revision {r.get('revision', '?')}): {settings or 'n/a'}")
    lines += ["", "Where the time went (seconds):", "",
              "| Phase | " + " | ".join(r["binary"] for r in runs) + " |",
              "| --- | " + " | ".join("---:" for _ in runs) + " |"]
    phases = []
    for r in runs:
        for p in r.get("phases", []):
            if p["phase"] not in phases:
                phases.append(p["phase"])
    for phase in phases:
        row = []
        for r in runs:
            took = [p["seconds"] for p in r.get("phases", []) if p["phase"] == phase]
            row.append(f"{took[0]:.0f}" if took else "")
        lines.append(f"| {phase} | " + " | ".join(row) + " |")
    lines.append("")
    return lines


def targets(report):
    """(what, value, unit, op, goal) for the last run ("after") at each size, where it
    was measured."""
    if not report:
        return []
    out = []
    if report.get("runs"):
        out += run_targets(report["runs"][-1], "fleet")
    if report.get("simulated"):
        out += run_targets(report["simulated"], f"fleet {report['simulated']['naras']:,}")
    return out


def run_targets(r, prefix):
    out = []

    def add(what, value, unit, op, goal):
        if value is not None:
            out.append((f"{prefix}: {what}", value, unit, op, goal))

    # A figure never reached within its deadline counts as the deadline: a miss.
    faults = r["faults"]
    crash, freeze = faults["crash"]["missing"], faults["freeze"]["missing"]
    add("crash → MISSING at every observer, p99", crash.get("p99_s") or crash["deadline_s"], "s", "<=", 5)
    add("freeze → MISSING, slowest observer", freeze.get("max_s") or freeze["deadline_s"], "s", "<=", 90)
    if "twin" in faults:
        add("twin takeover after SIGKILL", faults["twin"]["takeover_s"] or faults["twin"]["deadline_s"], "s", "<=", 5)
    for key in ("cut_rst", "cut_hole"):
        cut = faults[key]["missing"]
        add(f"{key.replace('_', ' ')} → MISSING, slowest observer", cut.get("max_s") or cut["deadline_s"], "s", "<=", 90)
    join = r["join"]
    add("messages the others publish for one join", join_estimate(join, "sim_join" in r), "msg", "<=", 10)
    add("newcomer sees all N", join["newcomer_s"] or join["deadline_s"], "s", "<=", 3)
    if "sim_join" in r:
        sim_join = r["sim_join"]
        add("messages the others publish for a simulated member's join", join_estimate(sim_join, True), "msg", "<=", 10)
    add("read-only watcher sees all N", r["watcher"]["seconds"] or r["watcher"]["deadline_s"], "s", "<=", 3)
    add("largest 3 s share of a minute's newspapers", (r["steady"]["largest_3s_share"] or 0) * 100, "%", "<=", 20)
    add("false MISSING across two broker restarts", sum(x["false_missing"] for x in r["restarts"]), "", "<=", 0)
    add("false MISSING across brief link cuts and the rest of the run",
        faults["brief"]["false_missing"] + r["false_missing"]["total"], "", "<=", 0)
    # No will to replay is a miss too: the after binary is meant to send one.
    replay = r["replay"]
    add("a replayed will keeps a living nara off ONLINE, at most",
        replay["off_online_max_s"] if replay["replayed"] else replay.get("watched_s", 15.0), "s", "<=", 3)
    add("a replayed will makes it MISSING (observers)",
        replay["missing_at_observers"] if replay["replayed"] else 0, "", "<=", 0)
    return out
