"""Turns wrk's --latency report (stdin) into one JSON line: requests/s, p50 and p99 in ms."""
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
    server, name, conns = sys.argv[1], sys.argv[2], int(sys.argv[3])
    report = sys.stdin.read()
    rps = re.search(r"Requests/sec:\s+([\d.]+)", report)
    p50 = re.search(r"^\s+50%\s+(\S+)", report, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", report, re.M)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", report)
    if not (rps and p50 and p99):
        raise SystemExit(f"wrk_to_json: unexpected wrk output:\n{report}")
    print(json.dumps({
        "server": server, "name": name, "connections": conns, "rps": float(rps.group(1)),
        "p50_ms": ms(p50.group(1)), "p99_ms": ms(p99.group(1)),
        "non_2xx": int(errors.group(1)) if errors else 0,
    }))


main()
