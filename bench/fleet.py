"""The "Fleet" section of make bench: a plaza of N real naras (200 by default) on one
mosquitto, each through its own link of a controllable proxy, measured for each binary
given (a "before" and an "after") in one run, the same way:

    python3 bench/fleet.py [--naras 200] [--observers 16] [--deadline 150]
                           [--broker-conf FILE] LABEL=BINARY [LABEL=BINARY ...]

Writes bench/results/fleet.md and fleet.json and prints the JSON on stdout; progress
goes to stderr. Each binary gets a fresh broker, proxy and fleet, and these phases:

1. mass start: every nara at once (souls minted by the binary, each nara pinned to one
   core, its flags at their defaults), until each observer (--observers of the naras,
   read through their /api/events streams) sees every nara ONLINE with its version;
2. steady minute: the minute that follows. Messages/s from the monitor (an MQTT
   subscriber to `#`), deliveries/s from the broker's own count of PUBLISH packets sent
   ($SYS, less those to the monitor), the largest share of the minute's newspapers in any
   3 s window, and the resident memory and CPU of every nara;
3. watcher: a --read-only nara starts; how long until it sees every nara ONLINE;
4. join: a newcomer starts at the moment the fewest naras are due a newspaper; the
   messages the others publish within JOIN_WINDOW of its first message are told apart
   from those their schedule brought (see `join_cost`), and how long it takes the
   newcomer to see every nara ONLINE;
5. faults, all at once: SIGKILL (crash), SIGSTOP (freeze), a link cut with RST and one
   cut into a black hole, five brief RST cuts restored after a second, and SIGKILL of the
   active process of a soul run twice (twins). Until every observer saw each victim
   MISSING and the standby twin took over, or --deadline seconds. Then the frozen nara is
   resumed and the links restored, until every observer sees every living nara ONLINE;
6. will replay: a will captured from a real link drop (the RST cut), if the binary sent
   one, is published again; how long the living nara is off ONLINE, and whether MISSING;
7. broker restarts: mosquitto stopped (SIGTERM) and started again, once without
   persistence, once with it; every MISSING of a living nara is false, counted.

A false MISSING anywhere else in the run is counted too.

Then, with --sim N (bench/fleet.sh gives 1,000), the last binary once more at N
simulated members and --observers real naras, since one real nara per process at that
size would measure two cores starving rather than the design: one simulator process
(examples/fleet_sim.rs, commanded through `Simulator`, fleet_sim.py) holds every
member's MQTT 5 connection, each with its own soul, secret client ID, signed will and
retained newspapers at the cadence law's interval. The phases see a member only through
what `Member` and `SimMember` share (`alive`, `kill`, `freeze`, `thaw`): a crash drops
the member's socket without DISCONNECT, a freeze stops it reading and writing, and the
members that are cut connect through the proxy (the others straight to the broker). The
newcomer, the watcher and a soul run twice are real naras; a member of the simulator
also joins. The "before" at N is computed from the first binary's settings and
its real fleet's rates (fleet_report.py), as the issue allows.
"""
import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone

sys.dont_write_bytecode = True  # no bench/__pycache__ left in the tree
import fleet_report  # noqa: E402  (the modules beside this file)
from fleet_procs import Broker, Member, Proxy, cpu_seconds, mint_soul, nofile_hard, rss_kib, start_nara, wait_listening  # noqa: E402
from fleet_sim import SimMember, Simulator, program as sim_program  # noqa: E402
from fleet_watch import View, Monitor  # noqa: E402

STEADY = 60.0          # the steady minute
TRANSIENT = 30.0       # from the fleet settled to the steady minute
SHARE_WINDOW = 3.0     # the window of the "largest share" figure
JOIN_WINDOW = 10.0     # the others' messages counted for a join, from its first message
RATE_BEFORE = 60.0     # the others' rate before a join, for the estimate by rate
SCHEDULE_SLACK = 0.12  # a newspaper within this share of its interval of its turn is "due"
SETTLE_LIMIT = 120.0
VIEW_LIMIT = 45.0      # for the watcher and the newcomer
RECOVERY_LIMIT = 90.0
REPLAY_WATCH = 15.0
RESTART_WATCH = 30.0   # at least this long after a broker restart, MISSING is watched for
BRIEF_CUT = 1.0
BRIEF_CUTS = 5
CRASHES = 3
SIM_CRASHES = 8        # the simulated members killed at once, at N = 1,000
QUIET_SEARCH = 30.0    # how long a join waits at most for a quiet moment


def say(text):
    print(f"bench: fleet: {text}", file=sys.stderr, flush=True)


def percentile(values, q):
    """Nearest-rank percentile of a non-empty list."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, int(-(-q * len(ordered) // 100)) - 1))]


def spread(samples, expected, deadline):
    """p50, p99 and max of delays, with those never seen counted as over the deadline."""
    seen = [s for s in samples if s is not None]
    out = {"seen": len(seen), "expected": expected, "deadline_s": deadline}
    if len(seen) == expected and seen:
        out.update(p50_s=percentile(seen, 50), p99_s=percentile(seen, 99), max_s=max(seen))
    elif seen:
        # Some never came: the percentiles that fall among them are "over the deadline".
        padded = seen + [float("inf")] * (expected - len(seen))
        out.update({k: (None if v == float("inf") else v) for k, v in
                    (("p50_s", percentile(padded, 50)), ("p99_s", percentile(padded, 99)), ("max_s", None))})
    return out


async def until(predicate, deadline, step=0.05):
    """The loop time when `predicate()` first holds, or None at the deadline."""
    loop = asyncio.get_running_loop()
    while True:
        if predicate():
            return loop.time()
        if loop.time() >= deadline:
            return None
        await asyncio.sleep(step)


def largest_share(times, window):
    """The largest share of `times` inside any `window`-second interval."""
    if not times:
        return None
    times = sorted(times)
    best, end = 0, 0
    for start, t in enumerate(times):
        while end < len(times) and times[end] < t + window:
            end += 1
        best = max(best, end - start)
    return best / len(times)


def schedule(messages):
    """Each sender's newspaper schedule: {name: (last time, interval)}, the interval the
    median of its gaps (a gap under a second is a burst, not a turn). A sender seen
    once has no interval of its own and is left out (so never counted as answering): at
    1,000 naras most are seen once or twice before a join, and the fleet's median gap,
    which mixes the random first phase after an announce with the intervals, predicted
    them badly."""
    times = {}
    for m in messages:
        if m.kind == "newspaper":
            times.setdefault(m.sender, []).append(m.at)
    gaps = {s: [b - a for a, b in zip(t, t[1:]) if b - a >= 1] for s, t in times.items()}
    every = [g for gs in gaps.values() for g in gs]
    fleet = statistics.median(every) if every else 30.0
    return {s: (t[-1], statistics.median(gaps[s])) for s, t in times.items() if gaps[s]}, fleet


def due(plan, sender, start, end):
    """Whether `sender`'s schedule puts a newspaper in [start, end], with a slack that
    grows with each interval since its last one seen (an interval spread at random, as
    the cadence law's ±10 %, drifts further from the prediction with each)."""
    if sender not in plan:
        return True  # unknown: never counted as an answer
    last, every = plan[sender]
    k = 1
    while True:
        at, slack = last + k * every, SCHEDULE_SLACK * every * k
        if at - slack > end:
            return False
        if at + slack >= start:
            return True
        k += 1


def join_cost(messages, plan, others, joined, newcomer, earlier):
    """The messages the others published for a join, told from those they were due:
    within JOIN_WINDOW of the newcomer's first message, every message of a nara that was
    not due a newspaper then is an answer, and so is every newspaper beyond the first of
    one that was. `others` are the naras that could answer.

    Beside it, by rate: the window's messages less what the others' rate over the
    RATE_BEFORE seconds before the join (`earlier`) brings in a window as long, with the
    spread of a Poisson count. The schedule needs two newspapers of a nara to predict
    it, which at 1,000 naras (an interval near 100 s) few have shown; the rate needs
    none, and holds as long as the phases are random, which the cadence law keeps."""
    window = [m for m in messages if m.sender != newcomer and joined <= m.at < joined + JOIN_WINDOW]
    before = [m for m in earlier if m.sender != newcomer and joined - RATE_BEFORE <= m.at < joined]
    expected = len(before) * JOIN_WINDOW / RATE_BEFORE
    by_sender = {}
    for m in window:
        by_sender.setdefault(m.sender, []).append(m)
    not_due = [s for s in others if not due(plan, s, joined, joined + JOIN_WINDOW)]
    answers_not_due = sum(len(by_sender.get(s, [])) for s in not_due)
    extra_due = 0
    for s, sent in by_sender.items():
        if s in not_due:
            continue
        newspapers = sum(1 for m in sent if m.kind == "newspaper")
        extra_due += max(0, newspapers - 1) + sum(1 for m in sent if m.kind != "newspaper")
    scaled = answers_not_due * len(others) / len(not_due) + extra_due if not_due else None
    return {
        "window_s": JOIN_WINDOW, "raw": len(window), "others": len(others), "not_due": len(not_due),
        "answers_of_not_due": answers_not_due, "extra_of_due": extra_due, "estimate": scaled,
        "rate_expected": expected, "rate_excess": len(window) - expected, "rate_sd": expected ** 0.5,
        "by_kind": count_kinds(window),
    }


def plaza_settings(binary):
    """The plaza settings a nara of this binary starts with, as `nara check-config` says."""
    answer = subprocess.run([binary, "check-config", "--name", "fleet-000"], capture_output=True, text=True)
    settings = {}
    for line in answer.stdout.splitlines():
        key, _, rest = line.partition("=")
        if key.strip().startswith("plaza_") and rest.strip().startswith('"'):
            settings[key.strip()] = rest.strip().split('"')[1]
    return settings


def count_kinds(messages):
    kinds = {}
    for m in messages:
        kinds[m.kind] = kinds.get(m.kind, 0) + 1
    return kinds


class Run:
    """One binary, measured from a fresh broker to the last broker restart."""

    def __init__(self, label, binary, opts, simulated=0):
        self.label, self.binary, self.opts = label, binary, opts
        self.o = opts.observers
        self.simulated = simulated
        self.sim = None
        if simulated:
            # The real naras are the observers and a soul run twice (bar the watcher and
            # the newcomer); every other member, and every other victim, is the
            # simulator's.
            self.observers = [f"fleet-{i:03d}" for i in range(self.o)]
            self.twin = f"fleet-{self.o:03d}"
            self.real = [*self.observers, self.twin]
            self.sims = [f"sim-{i:04d}" for i in range(simulated)]
            self.names = self.real + self.sims
            self.n = len(self.names)
            tail = self.sims
            self.crashed = tail[-SIM_CRASHES:]
            self.frozen, self.cut_rst, self.cut_hole = (tail[-1 - SIM_CRASHES], tail[-2 - SIM_CRASHES],
                                                        tail[-3 - SIM_CRASHES])
            self.brief = tail[-3 - SIM_CRASHES - BRIEF_CUTS:-3 - SIM_CRASHES]
        else:
            self.n = opts.naras
            self.names = [f"fleet-{i:03d}" for i in range(self.n)]
            self.real = self.names
            self.observers = self.names[:self.o]
            tail = self.names[self.o:]
            self.twin = tail[-1]
            self.crashed = tail[-1 - CRASHES:-1]
            self.frozen, self.cut_rst, self.cut_hole = tail[-2 - CRASHES], tail[-3 - CRASHES], tail[-4 - CRASHES]
            self.brief = tail[-4 - CRASHES - BRIEF_CUTS:-4 - CRASHES]
        self.members = {}  # link -> Member or SimMember
        self.phases = []
        self.result = {"binary": label, "path": binary, "naras": self.n, "observers": self.o,
                       "simulated": simulated, "open_files_hard": nofile_hard()}

    def phase(self, name, began):
        took = self.loop.time() - began
        self.phases.append({"phase": name, "seconds": round(took, 1)})
        say(f"{self.label}: {name} took {took:.1f} s")

    def spawn(self, link, name, extra=(), core=None):
        core = len(self.members) % 2 if core is None else core
        member = start_nara(self.binary, name, link, self.souls[name], self.links[link], core, self.work, extra)
        self.members[link] = member
        return member

    def naras(self):
        """Every real nara process still running."""
        return [m for m in self.members.values() if isinstance(m, Member) and m.alive]

    def clients(self):
        """The MQTT clients the broker should have: every living member and the monitor."""
        return sum(1 for m in self.members.values() if m.alive) + 1

    async def view(self, label, port):
        view = View(label, port)
        self.tasks.append(self.loop.create_task(view.follow()))
        return view

    def everyone_sees(self, names):
        return lambda: all(v.sees_online(names) for v in self.views)

    async def open(self, prefix):
        """A fresh broker, the proxy before it and the monitor on it; `teardown` ends them."""
        self.loop = asyncio.get_running_loop()
        self.tasks = []
        self.work = tempfile.mkdtemp(prefix=prefix)
        self.broker = Broker(self.work, self.opts.broker_conf)
        self.proxy = None
        await self.broker.start(persistence=False)
        self.proxy = await Proxy.start(self.broker.port)
        self.monitor = Monitor(self.broker.port)
        self.tasks.append(self.loop.create_task(self.monitor.run()))
        await asyncio.wait_for(self.monitor.connected.wait(), 10)

    async def main(self):
        try:
            await self.open(f"nara-fleet-{self.label}-")
            await self.mass_start()
            await self.steady()
            await self.watcher()
            await self.join()
            await self.faults()
            await self.replay()
            await self.restarts()
            self.false_missing()
            self.result["phases"] = self.phases
            return self.result
        finally:
            await self.teardown()

    async def mass_start(self):
        if self.simulated:
            return await self.mass_start_simulated()
        prepared = self.loop.time()
        self.result["settings"] = plaza_settings(self.binary)
        say(f"{self.label}: minting {self.n + 2} souls")
        self.souls = {name: mint_soul(self.binary, name, self.work) for name in [*self.names, "watcher", "newcomer"]}
        # The twin's first process starts first and its second last: the newest start
        # speaks for a soul, so the second is active and the first its standby.
        order = [f"{self.twin}.a", *self.names[:-1], self.twin, "watcher", "newcomer"]
        self.links = {link: await self.proxy.link(link) for link in order}
        self.phase("souls minted, proxy links opened", prepared)
        say(f"{self.label}: starting {self.n} naras (and a twin) at once")
        began = self.loop.time()
        self.spawn(f"{self.twin}.a", self.twin)
        for name in self.names[:-1]:
            self.spawn(name, name)
        self.spawn(self.twin, self.twin)
        spawned = self.loop.time() - began
        await self.settle(began, spawned)

    async def mass_start_simulated(self):
        """The simulator's members and the real observers, all at once; the links of the
        members that will be cut go through the proxy, the others straight to the broker."""
        prepared = self.loop.time()
        self.result["settings"] = plaza_settings(self.binary)
        say(f"{self.label}: minting {len(self.real) + 2} souls")
        self.souls = {name: mint_soul(self.binary, name, self.work) for name in [*self.real, "watcher", "newcomer"]}
        proxied = [self.cut_rst, self.cut_hole, *self.brief]
        self.links = {link: await self.proxy.link(link)
                      for link in [f"{self.twin}.a", *self.real, "watcher", "newcomer", *proxied]}
        self.phase("souls minted, proxy links opened", prepared)
        say(f"{self.label}: starting {self.simulated} simulated members and {len(self.real)} real naras "
            "(and a twin) at once")
        began = self.loop.time()
        self.sim = Simulator(sim_program(), self.broker.port, self.simulated, "sim-", len(self.real),
                             {name: self.links[name] for name in proxied}, os.path.join(self.work, "sim.log"))
        for name in self.sims:
            self.members[name] = SimMember(self.sim, name)
        # As in the real fleet: the twin's second process starts last, and is active.
        self.spawn(f"{self.twin}.a", self.twin)
        for name in self.observers:
            self.spawn(name, name)
        self.spawn(self.twin, self.twin)
        spawned = self.loop.time() - began
        await self.settle(began, spawned)

    async def settle(self, began, spawned):
        """Until every observer sees every nara ONLINE."""
        for member in self.naras():
            await wait_listening(member.http_port, 60, member.link)
        self.views = [await self.view(name, self.members[name].http_port) for name in self.observers]
        settled = await until(self.everyone_sees(self.names), began + SETTLE_LIMIT)
        if settled is None:
            short = {v.label: len([n for n in self.names if v.sees_online([n])]) for v in self.views}
            raise SystemExit(f"fleet: {self.label}: not settled after {SETTLE_LIMIT:.0f} s (ONLINE seen: {short})")
        status = await asyncio.to_thread(self.members[self.observers[0]].status)
        self.result["revision"] = status.get("revision")
        self.result["start"] = {"spawn_s": round(spawned, 2), "settled_s": settled - began}
        self.settled = settled
        self.phase("mass start until every observer sees every nara", began)

    async def steady(self):
        # The minute starts half a minute after the fleet settled: past the answers to
        # the mass start's hellos, so what it shows is what stays.
        began = self.settled + TRANSIENT
        await asyncio.sleep(max(0, began - self.loop.time()))
        cpu_before = {m.link: cpu_seconds(m.proc.pid) for m in self.naras()}
        await asyncio.sleep(max(0, began + STEADY - self.loop.time()))
        end = began + STEADY
        messages = self.monitor.between(began, end)
        newspapers = [m.at for m in messages if m.kind == "newspaper"]
        out = {"seconds": STEADY, "messages": len(messages), "messages_per_s": len(messages) / STEADY,
               "newspapers": len(newspapers), "by_kind": count_kinds(messages),
               "largest_3s_share": largest_share(newspapers, SHARE_WINDOW)}
        sent = [self.monitor.counter("$SYS/broker/publish/messages/sent", t) for t in (began, end)]
        dropped = [self.monitor.counter("$SYS/broker/publish/messages/dropped", t) for t in (began, end)]
        if all(sent) and sent[1][0] > sent[0][0]:
            (t0, v0), (t1, v1) = sent
            to_monitor = sum(1 for t in self.monitor.received if t0 < t <= t1)
            out["deliveries_per_s"] = (v1 - v0 - to_monitor) / (t1 - t0)
            out["deliveries_counted"] = {"broker_sent": v1 - v0, "to_monitor": to_monitor, "seconds": t1 - t0,
                                         "messages": len(self.monitor.between(t0, t1)),
                                         "subscribers": len(self.naras()) + 1}
        if all(dropped):
            out["dropped_by_broker"] = dropped[1][1] - dropped[0][1]
        self.result["steady"] = out
        rss = [rss_kib(m.proc.pid) for m in self.naras()]
        rss = [r for r in rss if r]
        cpu = [cpu_seconds(m.proc.pid) - cpu_before[m.link] for m in self.naras() if cpu_before.get(m.link) is not None]
        self.result["memory"] = {
            "processes": len(rss), "rss_median_kib": statistics.median(rss), "rss_max_kib": max(rss),
            "rss_total_kib": sum(rss), "broker_rss_kib": rss_kib(self.broker.proc.pid),
            "proxy_rss_kib": rss_kib(self.proxy.proc.pid),
            "cpu_s_per_nara_minute": statistics.mean(cpu) * 60 / STEADY if cpu else None,
            "broker_cpu_s": cpu_seconds(self.broker.proc.pid)}
        if self.sim is not None:
            stats = await asyncio.to_thread(self.sim.stats)
            self.result["memory"].update(sim_rss_kib=stats["rss_kib"], sim_members=stats["alive"],
                                         sim_cpu_s=cpu_seconds(self.sim.pid))
            self.result["sim_stats"] = stats
        self.phase("half a minute, then the steady minute", self.settled)

    def real_answers(self, joined, newcomer):
        """What the real naras published for a join among simulated members, which answer
        nothing by construction: each message of a real nara within JOIN_WINDOW that is
        not a newspaper, or a newspaper sooner after its previous one than the cadence
        law allows (the law's interval at N less its 10 % spread, and 5 % of slack), is
        an answer; scaled to N. Exact where the estimates are not: at 1,000 a real
        nara's interval is near 100 s, so few were seen twice, and by rate one join's
        answers hide in the plaza's Poisson noise."""
        settings = self.result.get("settings", {})
        base = fleet_report.duration_s(settings.get("plaza_newspaper_interval")) or 30.0
        rate = float(settings.get("plaza_fleet_rate") or 10)
        soonest = max(base, self.n / rate) * 0.85
        history = self.monitor.between(0, joined + JOIN_WINDOW)
        last, steady, answers, sent, unknown = {}, set(), 0, 0, 0
        for m in history:
            if m.sender not in self.real or m.sender == newcomer:
                continue
            if m.at >= joined:
                sent += 1
                if m.kind != "newspaper":
                    answers += 1
                elif m.sender in last and m.at - last[m.sender] < soonest:
                    # Sooner than the law: an answer only from a nara already at the
                    # law's pace. One that announced into an empty view takes a new
                    # phase once its interval stretches, which may come sooner.
                    if m.sender in steady:
                        answers += 1
                    else:
                        unknown += 1
            if m.kind == "newspaper":
                if m.sender in last and m.at - last[m.sender] >= soonest:
                    steady.add(m.sender)
                last[m.sender] = m.at
        return {"naras": len(self.real), "sent": sent, "answers": answers, "unknown": unknown, "soonest_s": soonest,
                "scaled_to_n": answers * self.n / len(self.real)}

    async def watcher(self):
        began = self.loop.time()
        member = self.spawn("watcher", "watcher", ["--read-only"])
        await wait_listening(member.http_port, 10, "watcher")
        view = await self.view("watcher", member.http_port)
        seen = await until(lambda: view.sees_online(self.names), began + VIEW_LIMIT)
        self.result["watcher"] = {"seconds": None if seen is None else seen - began, "deadline_s": VIEW_LIMIT}
        member.proc.terminate()
        self.phase("read-only watcher", began)

    async def join(self):
        began = self.loop.time()
        plan, interval = schedule(self.monitor.between(self.settled, began))
        # The moment, within one interval, when the fewest naras are due a newspaper
        # in the next announce jitter (5 s at its default) and join window.
        ahead = 5.0 + JOIN_WINDOW
        if self.sim is None:
            candidates = [began + 0.25 * i for i in range(int(min(interval, QUIET_SEARCH) * 4) + 1)]
            best = min(candidates, key=lambda t: sum(due(plan, s, t, t + ahead) for s in self.names))
            await asyncio.sleep(max(0, best - self.loop.time()))
        # With the simulator the join starts at once: its cost is told by rate there, which
        # a moment picked for its quiet would bias low.
        started = self.loop.time()
        member = self.spawn("newcomer", "newcomer")
        await wait_listening(member.http_port, 10, "newcomer")
        view = await self.view("newcomer", member.http_port)
        # Both watched at once: the view may fill before the newcomer first speaks.
        spoke, seen = await asyncio.gather(
            until(lambda: any(m.sender == "newcomer" for m in self.monitor.between(started, 1e18)),
                  started + VIEW_LIMIT),
            until(lambda: view.sees_online(self.names), started + VIEW_LIMIT))
        joined = spoke if spoke is not None else started
        await asyncio.sleep(max(0, joined + JOIN_WINDOW + 0.5 - self.loop.time()))
        others = list(self.names)
        cost = join_cost(self.monitor.between(joined, joined + JOIN_WINDOW), plan, others, joined, "newcomer",
                         self.monitor.between(joined - RATE_BEFORE, joined))
        if self.sim is not None:
            cost["real"] = self.real_answers(joined, "newcomer")
        cost.update(newcomer_s=None if seen is None else seen - started, deadline_s=VIEW_LIMIT,
                    first_message_after_s=None if spoke is None else spoke - started, interval_s=interval,
                    waited_for_quiet_s=started - began)
        self.result["join"] = cost
        self.live = set(self.names) | {"newcomer"}
        self.phase("join (waiting for a quiet moment included)", began)
        if self.sim is not None:
            await self.simulated_join(plan)

    async def simulated_join(self, plan):
        """A member of the simulator joins: the messages the others publish for it, and
        how long until every observer sees it ONLINE."""
        began = self.loop.time()
        name = "sim-join"
        before = await asyncio.to_thread(self.sim.stats)
        self.sim.command(f"join {name}")
        self.members[name] = SimMember(self.sim, name)
        spoke = await until(lambda: any(m.sender == name for m in self.monitor.between(began, 1e18)),
                            began + VIEW_LIMIT)
        joined = spoke if spoke is not None else began
        seen = await until(self.everyone_sees([name]), began + VIEW_LIMIT)
        await asyncio.sleep(max(0, joined + JOIN_WINDOW + 0.5 - self.loop.time()))
        after = await asyncio.to_thread(self.sim.stats)
        others = sorted(self.live)
        cost = join_cost(self.monitor.between(joined, joined + JOIN_WINDOW), plan, others, joined, name,
                         self.monitor.between(joined - RATE_BEFORE, joined))
        if self.sim is not None:
            cost["real"] = self.real_answers(joined, name)
        cost.update(observers_see_s=None if seen is None else seen - began,
                    first_message_after_s=None if spoke is None else spoke - began, deadline_s=VIEW_LIMIT,
                    sim_published={k: after["published"][k] - before["published"][k] for k in after["published"]})
        self.result["sim_join"] = cost
        self.live.add(name)
        self.phase("a simulated member joins", began)

    async def faults(self):
        began = self.loop.time()
        deadline = began + self.opts.deadline
        killed_twin = standby = standby_boot = None
        if self.twin is not None:
            twins = [self.members[f"{self.twin}.a"], self.members[self.twin]]
            roles = [(await asyncio.to_thread(t.status))["plaza"] for t in twins]
            active = [i for i, p in enumerate(roles) if p["role"]["role"] == "active"]
            killed_twin, standby = (twins[active[0]], twins[1 - active[0]]) if len(active) == 1 else (twins[1], twins[0])
            standby_boot = roles[twins.index(standby)]["boot_id"]
        say(f"{self.label}: faults: kill {', '.join(self.crashed)}"
            f"{f' and {killed_twin.link} (active twin)' if killed_twin else ''}, "
            f"freeze {self.frozen}, cut {self.cut_rst} (RST) and {self.cut_hole} (black hole), "
            f"brief cuts of {', '.join(self.brief)}")
        for name in self.crashed:
            self.members[name].kill()
        if killed_twin is not None:
            killed_twin.kill()
        self.members[self.frozen].freeze()
        await self.proxy.cut(self.cut_rst, "rst")
        await self.proxy.cut(self.cut_hole, "hole")
        for name in self.brief:
            await self.proxy.cut(name, "rst")
        at = self.loop.time()  # the faults' time, all within milliseconds
        self.fault_at = at
        await asyncio.sleep(max(0, at + BRIEF_CUT - self.loop.time()))
        for name in self.brief:
            await self.proxy.restore(name)
        victims = [*self.crashed, self.frozen, self.cut_rst, self.cut_hole]
        takeover = {}

        async def watch_standby():
            while self.loop.time() < deadline:
                try:
                    plaza = (await asyncio.to_thread(standby.status))["plaza"]
                    if plaza["role"]["role"] == "active":
                        takeover["status"] = self.loop.time() - at
                        return
                except OSError:
                    pass
                await asyncio.sleep(0.2)

        watching = self.loop.create_task(watch_standby()) if standby is not None else None
        missing = lambda c: c.status == "MISSING"  # noqa: E731
        await until(lambda: (standby is None or "status" in takeover) and all(
            v.first(n, at, missing) is not None for v in self.views for n in victims), deadline, step=0.25)
        if watching is not None:
            watching.cancel()
        ended = self.loop.time()
        heard = [m.at for m in self.monitor.between(at, ended) if m.kind == "newspaper"
                 and m.sender == self.twin and m.boot == standby_boot] if standby is not None else []

        def delays(names, predicate):
            return [None if (t := v.first(n, at, predicate)) is None else t - at for v in self.views for n in names]

        noticed = lambda c: c.noticed  # noqa: E731
        out = {"deadline_s": self.opts.deadline, "watched_s": ended - at}
        for key, names in (("crash", self.crashed), ("freeze", [self.frozen]), ("cut_rst", [self.cut_rst]),
                           ("cut_hole", [self.cut_hole])):
            out[key] = {"noticed": spread(delays(names, noticed), len(names) * self.o, self.opts.deadline),
                        "missing": spread(delays(names, missing), len(names) * self.o, self.opts.deadline)}
        if standby is not None:
            out["twin"] = {"takeover_s": takeover.get("status"),
                           "first_newspaper_s": heard[0] - at if heard else None,
                           "missing_at_observers": sum(1 for v in self.views if v.first(self.twin, at, missing)),
                           "deadline_s": self.opts.deadline}
        # Back to health: the frozen nara resumes, the cut links come back.
        self.members[self.frozen].thaw()
        await self.proxy.restore(self.cut_rst)
        await self.proxy.restore(self.cut_hole)
        self.live -= set(self.crashed)
        restored = self.loop.time()
        back = await until(self.everyone_sees(self.live), restored + RECOVERY_LIMIT, step=0.25)
        out["recovered_s"] = None if back is None else back - restored
        # And connected again, every one of them (a nara that stayed ONLINE in every
        # view may still be waiting out its backoff), before the broker restarts.
        expected = self.clients()
        connected = self.monitor.sys["$SYS/broker/clients/connected"]
        rejoined = await until(lambda: connected and connected[-1][1] >= expected, restored + RECOVERY_LIMIT, 0.25)
        out["reconnected_s"] = None if rejoined is None else rejoined - restored
        self.recovered = self.loop.time()
        out["brief"] = {
            "cut_s": BRIEF_CUT, "naras": len(self.brief),
            "false_missing": sum(1 for v in self.views for n in self.brief if v.first(n, at, missing)),
            "noticed": sum(1 for v in self.views for n in self.brief if v.first(n, at, noticed)),
        }
        self.result["faults"] = out
        self.phase("faults, then recovery", began)

    async def replay(self):
        began = self.loop.time()
        wills = [(m, p) for m, p in self.monitor.wills if m.sender in self.live and m.at >= self.fault_at]
        wills.sort(key=lambda w: (w[0].sender != self.cut_rst, -w[0].at))
        if not wills:
            self.result["replay"] = {"replayed": None, "wills_seen": len(self.monitor.wills), "watched_s": REPLAY_WATCH,
                                     "why": "no will of a living nara was published in this run"}
            self.phase("will replay (none to replay)", began)
            return
        message, publish = wills[0]
        name = message.sender
        at = self.loop.time()
        self.monitor.replay(publish)
        await asyncio.sleep(REPLAY_WATCH)
        off = []
        for v in self.views:
            left = v.first(name, at, lambda c: c.noticed)
            if left is None:
                off.append(0.0)
                continue
            back = v.first(name, left, lambda c: not c.noticed and c.status == "ONLINE")
            off.append((back if back is not None else self.loop.time()) - left)
        self.result["replay"] = {
            "replayed": name, "captured_s_before": at - message.at, "wills_seen": len(self.monitor.wills),
            "off_online_max_s": max(off), "off_online_p50_s": percentile(off, 50),
            "missing_at_observers": sum(1 for v in self.views if v.first(name, at, lambda c: c.status == "MISSING")),
            "watched_s": REPLAY_WATCH}
        self.phase("will replay", began)

    async def restarts(self):
        out = []
        self.restart_windows = []
        counts = self.monitor.sys["$SYS/broker/clients/connected"]
        for persistence in (False, True):
            began = self.loop.time()
            expected = self.clients()
            await self.broker.stop()
            if not persistence:
                # Started with persistence on and nothing saved: the broker comes back
                # empty, as one without persistence does, and saves at its next stop.
                self.broker.forget_persisted()
            await self.broker.start(persistence=True)
            up = self.loop.time()
            back = await until(self.everyone_sees(self.live), up + RECOVERY_LIMIT, step=0.25)
            # Watched for RESTART_WATCH at least, and until every nara is connected again
            # (so the next restart starts from a whole fleet), or RECOVERY_LIMIT.
            rejoined = await until(lambda: counts and counts[-1][0] > up and counts[-1][1] >= expected,
                                   up + RECOVERY_LIMIT, step=0.25)
            await asyncio.sleep(max(0, up + RESTART_WATCH - self.loop.time()))
            ended = self.loop.time()
            self.restart_windows.append((began, ended))
            missing = [(v.label, c.name) for v in self.views for c in v.log
                       if began <= c.at <= ended and c.name in self.live and c.status == "MISSING"]
            blips = {(v.label, c.name) for v in self.views for c in v.log
                     if began <= c.at <= ended and c.name in self.live and c.noticed}
            messages = self.monitor.between(up, up + RESTART_WATCH)
            reported = [v for t, v in counts if t > up]
            out.append({"persistence": persistence, "down_s": up - began, "false_missing": len(missing),
                        "noticed": len(blips), "all_online_again_s": None if back is None else back - up,
                        "clients_back_s": None if rejoined is None else rejoined - up, "clients": expected,
                        "clients_reported_max": max(reported, default=None),
                        "messages": len(messages), "by_kind": count_kinds(messages), "messages_in_s": RESTART_WATCH,
                        "watched_s": ended - up, "deadline_s": RECOVERY_LIMIT})
            self.phase(f"broker restart {'with' if persistence else 'without'} persistence", began)
        self.result["restarts"] = out

    def false_missing(self):
        """Every MISSING of a nara that was alive and reachable then, at any observer,
        outside the broker restarts (which count their own)."""
        fault_end = getattr(self, "recovered", None)
        restarts = getattr(self, "restart_windows", [])
        false = []
        for v in self.views:
            for c in v.log:
                if c.status != "MISSING" or any(a <= c.at <= b for a, b in restarts):
                    continue
                if c.name in self.crashed and c.at >= self.fault_at:
                    continue
                if c.name in (self.frozen, self.cut_rst, self.cut_hole) and self.fault_at <= c.at <= fault_end:
                    continue
                false.append({"observer": v.label, "nara": c.name, "at_s": round(c.at - self.settled, 1)})
        self.result["false_missing"] = {"total": len(false), "first": false[:10],
                                        "streams_reopened": sum(v.streams - 1 for v in self.views)}

    async def teardown(self):
        for task in self.tasks:
            task.cancel()
        if self.sim is not None:
            self.sim.stop()
        for member in self.members.values():
            if isinstance(member, Member):
                member.thaw()
                if member.alive:
                    member.kill()
        for member in self.members.values():
            if isinstance(member, Member):
                await asyncio.to_thread(member.proc.wait)
        if self.proxy is not None:
            self.proxy.stop()
            await self.proxy.proc.wait()
        await self.broker.stop()
        if os.environ.get("FLEET_KEEP"):
            say(f"{self.label}: logs kept in {self.work}")
        else:
            shutil.rmtree(self.work, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--naras", type=int, default=200)
    parser.add_argument("--observers", type=int, default=16)
    parser.add_argument("--deadline", type=float, default=150.0,
                        help="seconds the faults are watched at most")
    parser.add_argument("--broker-conf", help="a file of more mosquitto.conf lines (an ACL)")
    parser.add_argument("--sim", type=int, default=0, metavar="N",
                        help="then N simulated members (examples/fleet_sim.rs) and --observers real naras of "
                             "the last binary; 0: none")
    parser.add_argument("--out", default="bench/results")
    parser.add_argument("binaries", nargs="+", metavar="LABEL=BINARY")
    opts = parser.parse_args()
    if opts.deadline < 100:
        parser.error("--deadline must be at least 100 s: past the longest target (90 s), a fault never seen is a miss")
    victims = 4 + CRASHES + BRIEF_CUTS  # the twin, the crashes, a freeze, two cuts, the brief cuts
    if opts.naras and opts.naras < opts.observers + victims:
        parser.error(f"--naras must leave room for {victims} victims besides the observers (or be 0: none)")
    if opts.sim and opts.sim < 3 + SIM_CRASHES + BRIEF_CUTS:
        parser.error(f"--sim must leave room for {3 + SIM_CRASHES + BRIEF_CUTS} victims (or be 0: none)")
    runs = [pair.split("=", 1) for pair in opts.binaries]
    started = time.monotonic()
    results = []
    for label, binary in runs if opts.naras else []:
        say(f"{label}: {binary}, {opts.naras} naras, {opts.observers} observers")
        results.append(asyncio.run(Run(label, binary, opts).main()))
    simulated = None
    if opts.sim:
        label, binary = runs[-1]
        say(f"{label}: {binary}, {opts.sim} simulated members, {opts.observers} real observers")
        simulated = asyncio.run(Run(label, binary, opts, simulated=opts.sim).main())
        # The "before" at this size is computed (the issue allows it) from the first
        # binary's settings and, where it ran, its real fleet.
        before_label, before_binary = runs[0]
        simulated["before"] = {"binary": before_label, "path": before_binary,
                               "settings": plaza_settings(before_binary)}
    report = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "seconds": time.monotonic() - started,
              "command": " ".join(["python3", "bench/fleet.py", *sys.argv[1:]]), "runs": results,
              "simulated": simulated}
    os.makedirs(opts.out, exist_ok=True)
    with open(os.path.join(opts.out, "fleet.json"), "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")
    with open(os.path.join(opts.out, "fleet.md"), "w") as f:
        f.write("\n".join(["# nara benchmark: fleet", "", *fleet_report.table(report)[2:]]) + "\n")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
