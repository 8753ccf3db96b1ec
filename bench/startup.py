"""Start-up time: exec to the first 200 from /healthz, median over N runs, in ms."""
import socket
import statistics
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no bench/__pycache__ left in the tree
from loopback import free_port  # noqa: E402  (bench/loopback.py)


def healthy(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
            return s.recv(16)[8:13] == b" 200 "
    except OSError:
        return False


def once(binary):
    port = free_port()
    began = time.perf_counter()
    proc = subprocess.Popen([binary, "--http-addr", f"127.0.0.1:{port}", "--log-level", "error"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while not healthy(port):
            if time.perf_counter() - began > 5:
                raise SystemExit("startup: nara did not answer within 5 s")
            time.sleep(0.0002)
        return (time.perf_counter() - began) * 1000
    finally:
        proc.kill()
        proc.wait()


def main():
    binary, runs = sys.argv[1], int(sys.argv[2])
    print(f"{statistics.median(once(binary) for _ in range(runs)):.2f}")


main()
