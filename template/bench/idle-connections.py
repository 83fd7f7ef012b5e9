#!/usr/bin/env python3
"""idle-connections.py: open N idle HTTP/1.1 keep-alive connections and hold them.

Each connection sends one request (GET PATH, keep-alive), reads the whole
response, and then stays open without sending anything else: exactly what a
browser or a pooled client leaves behind. bench/run measures the server's RSS
while they are held, so the difference from its idle RSS is the cost of an
idle keep-alive connection.

Protocol with the caller (stdout, one line each, flushed):
    IDLE_READY open=<n> failed=<n> bad_status=<n>   every connection settled
    IDLE_DONE still_open=<n>                        on SIGTERM/SIGINT/--hold end
still_open counts the connections the server had not closed when we were
asked to stop; if it is below `open` the server dropped idle connections
during the measurement and the RSS figure is not per-connection.

Limits: the script raises its own RLIMIT_NOFILE soft limit to what N needs
(up to the hard limit; it fails with a clear message if the hard limit is too
low: raise it with `ulimit -Hn` as root or in /etc/security/limits.conf).
Every phase is bounded: --setup-seconds for opening, --hold-seconds for
holding. Loopback only by default; stdlib only.
"""

import argparse
import errno
import resource
import selectors
import signal
import socket
import sys
import time

FD_HEADROOM = 64  # stdio, the selector, Python's own files


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--count", type=int, default=10000)
    parser.add_argument("--path", default="/", help="request path sent once per connection")
    parser.add_argument("--concurrency", type=int, default=256,
                        help="connections being opened at once (stay under the listen backlog)")
    parser.add_argument("--setup-seconds", type=float, default=60.0)
    parser.add_argument("--hold-seconds", type=float, default=300.0)
    return parser.parse_args()


def raise_fd_limit(count):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = count + FD_HEADROOM
    if soft >= needed:
        return
    if hard != resource.RLIM_INFINITY and hard < needed:
        sys.exit(f"idle-connections: need {needed} file descriptors, hard limit is {hard}; "
                 "raise it (ulimit -Hn) or pass a smaller --count")
    resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


class Connection:
    """One connection's progress: connecting, sending, reading, idle."""

    __slots__ = ("sock", "pending", "received")

    def __init__(self, sock, request):
        self.sock = sock
        self.pending = request
        self.received = bytearray()

    def response_complete(self):
        """True once the headers and Content-Length bytes of body are in."""
        end = self.received.find(b"\r\n\r\n")
        if end < 0:
            return False
        body_length = 0
        for line in bytes(self.received[:end]).split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                body_length = int(value.strip() or b"0")
        return len(self.received) >= end + 4 + body_length

    def status(self):
        parts = bytes(self.received[:16]).split(b" ")
        return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0


def start_connection(selector, address, request):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    result = sock.connect_ex(address)
    if result not in (0, errno.EINPROGRESS):
        sock.close()
        return False
    selector.register(sock, selectors.EVENT_WRITE, Connection(sock, request))
    return True


def advance(selector, conn, idle, counters):
    """Moves one connection on after an event; returns False when it is done (idle or failed)."""
    try:
        if conn.pending:
            error = conn.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if error:
                raise OSError(error, "connect failed")
            sent = conn.sock.send(conn.pending)
            conn.pending = conn.pending[sent:]
            if not conn.pending:
                selector.modify(conn.sock, selectors.EVENT_READ, conn)
            return True
        chunk = conn.sock.recv(65536)
        if not chunk:
            raise OSError(errno.ECONNRESET, "closed by server")
        conn.received += chunk
        if not conn.response_complete():
            return True
    except OSError:
        selector.unregister(conn.sock)
        conn.sock.close()
        counters["failed"] += 1
        return False
    selector.unregister(conn.sock)
    status = conn.status()
    if not 200 <= status < 400:
        counters["bad_status"] += 1
    conn.received = None  # hold only the socket while idle
    idle.append(conn.sock)
    return False


def open_connections(args):
    address = (args.host, args.port)
    request = (f"GET {args.path} HTTP/1.1\r\nHost: {args.host}:{args.port}\r\n"
               "User-Agent: hexkit-idle-connections\r\n\r\n").encode()
    selector = selectors.DefaultSelector()
    idle = []
    counters = {"failed": 0, "bad_status": 0}
    started = in_flight = 0
    deadline = time.monotonic() + args.setup_seconds
    while (started < args.count or in_flight) and time.monotonic() < deadline:
        while started < args.count and in_flight < args.concurrency:
            started += 1
            if start_connection(selector, address, request):
                in_flight += 1
            else:
                counters["failed"] += 1
        for key, _ in selector.select(timeout=0.5):
            if not advance(selector, key.data, idle, counters):
                in_flight -= 1
    for key in list(selector.get_map().values()):  # setup deadline hit
        counters["failed"] += 1
        key.fileobj.close()
    selector.close()
    return idle, counters


def count_still_open(idle):
    """A connection the server closed is readable with EOF (or an error)."""
    selector = selectors.DefaultSelector()
    for sock in idle:
        selector.register(sock, selectors.EVENT_READ)
    closed = 0
    for key, _ in selector.select(timeout=0):
        try:
            if not key.fileobj.recv(1, socket.MSG_PEEK):
                closed += 1
        except OSError:
            closed += 1
    selector.close()
    return len(idle) - closed


def main():
    args = parse_args()
    raise_fd_limit(args.count)
    stop = {"requested": False}

    def request_stop(_signum, _frame):
        stop["requested"] = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

    idle, counters = open_connections(args)
    print(f"IDLE_READY open={len(idle)} failed={counters['failed']} "
          f"bad_status={counters['bad_status']}", flush=True)

    hold_until = time.monotonic() + args.hold_seconds
    while not stop["requested"] and time.monotonic() < hold_until:
        time.sleep(0.1)
    print(f"IDLE_DONE still_open={count_still_open(idle)}", flush=True)
    for sock in idle:
        sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
