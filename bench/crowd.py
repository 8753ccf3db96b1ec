"""A crowd of keep-alive clients for make bench: opens N connections to 127.0.0.1:PORT,
sends one GET /healthz on each, reads every answer, and keeps them all open while it
reads the resident memory of PID. Prints JSON: how many were answered, how long the
whole crowd took, and PID's resident KiB before and with the crowd.

    python3 bench/crowd.py PORT PID N
"""
import json
import resource
import socket
import sys
import time


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise SystemExit(f"crowd: no VmRSS for pid {pid}")


def main():
    port, pid, count = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < count + 100:
        raise SystemExit(f"crowd: needs {count + 100} file descriptors, the hard limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    request = b"GET /healthz HTTP/1.1\r\nHost: bench\r\n\r\n"
    before = rss_kib(pid)
    began = time.monotonic()
    clients = []
    for _ in range(count):
        client = socket.create_connection(("127.0.0.1", port), timeout=30)
        client.sendall(request)
        clients.append(client)
    answered = 0
    for client in clients:
        try:
            if client.recv(1024).startswith(b"HTTP/1.1 200"):
                answered += 1
        except OSError:
            pass
    seconds = time.monotonic() - began
    time.sleep(0.5)
    with_crowd = rss_kib(pid)
    for client in clients:
        client.close()
    print(json.dumps({"connections": count, "answered": answered, "seconds": seconds,
                      "rss_before_kib": before, "rss_with_kib": with_crowd,
                      "kib_per_connection": (with_crowd - before) / count}))


main()
