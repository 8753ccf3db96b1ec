"""Turns one wrk --latency report (stdin) into one JSON line: requests/s, p50 and p99
in ms, and the server's CPU time per request in microseconds.

Arguments: SERVER NAME CONNECTIONS ROUND CPU_TICKS CLOCK_TICKS_PER_SECOND."""
import json
import re
import sys

UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def ms(text):
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    if not match:
        raise SystemExit(f"wrk_to_json: cannot read the latency {text!r}")
    return float(match.group(1)) * UNITS[match.group(2)]


def main():
    server, name = sys.argv[1], sys.argv[2]
    conns, round_, cpu_ticks, ticks_per_s = (int(a) for a in sys.argv[3:7])
    report = sys.stdin.read()
    rps = re.search(r"Requests/sec:\s+([\d.]+)", report)
    total = re.search(r"(\d+) requests in", report)
    p50 = re.search(r"^\s+50%\s+(\S+)", report, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", report, re.M)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", report)
    if not (rps and total and p50 and p99) or int(total.group(1)) == 0:
        raise SystemExit(f"wrk_to_json: unexpected wrk output:\n{report}")
    print(json.dumps({
        "server": server, "name": name, "connections": conns, "round": round_,
        "rps": float(rps.group(1)), "p50_ms": ms(p50.group(1)), "p99_ms": ms(p99.group(1)),
        "cpu_us_per_request": cpu_ticks / ticks_per_s * 1e6 / int(total.group(1)),
        "non_2xx": int(errors.group(1)) if errors else 0,
    }))


main()
