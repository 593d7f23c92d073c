"""A loopback HTTP media server for tests, the demo and benchmarks: serves a folder with Range support, counts the
bytes clients really read, and injects faults (404, an HTML page instead of media, a truncated file, a connection
dropped mid-file N times or always) and per-request latency. It can also behave like YouTube's throttle
(``Throttle``) and answer HTTP 429 past a number of requests per minute (``rate_limit``).

``python -m http.server`` is not enough: it has no Range support, so section downloads of an m4a whose index sits
at the end get nothing. Counting "bytes served" needs small socket buffers: the kernel's multi-MB buffers would
swallow what a client abandons, so each connection gets ``SO_SNDBUF`` 16 KiB and the body goes out in 16 KiB writes.

Example::

    from testing.server import MediaServer, Fault
    with MediaServer("demo_out/media", latency_s=0.2) as server:
        server.set_fault("food/food_00.webm", Fault("drop", at_byte=100_000, times=2))
        url = server.url("food/food_00.webm")          # http://127.0.0.1:<port>/food/food_00.webm
        ...
        print(server.bytes_sent, server.requests)

    # YouTube-like: un-chunked requests crawl at 32 KiB/s after their first 1 MiB; 429 past 30 requests a minute
    with MediaServer("demo_out/media", throttle=Throttle(), rate_limit=30) as server:
        ...
"""

from __future__ import annotations

import logging
import os
import re
import socket
import struct
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

logger = logging.getLogger(__name__)

CHUNK = 16 * 1024
CONTENT_TYPES = {".webm": "audio/webm", ".weba": "audio/webm", ".m4a": "audio/mp4", ".mp4": "video/mp4",
                 ".opus": "audio/ogg", ".ogg": "audio/ogg", ".mp3": "audio/mpeg", ".flac": "audio/flac",
                 ".wav": "audio/wav", ".html": "text/html; charset=utf-8", ".txt": "text/plain; charset=utf-8"}
HTML_PAGE = (b"<!DOCTYPE html><html><head><title>Before you continue to YouTube</title></head>"
             b"<body><h1>Before you continue</h1><p>We use cookies and data to deliver our services.</p>"
             b"<form action='/consent'><button>Accept all</button></form></body></html>")
FAULT_KINDS = ("404", "html", "truncate", "drop", "stall", "live")


class LoopbackServer:
    """A ``ThreadingHTTPServer`` on 127.0.0.1 in a daemon thread: ``start``/``stop``, a context manager. Subclasses
    name their handler class (``HANDLER``, given this object as ``ATTRIBUTE``)."""
    HANDLER: type
    ATTRIBUTE = "server"
    port = 0
    _httpd: ThreadingHTTPServer | None = None

    def start(self):
        handler = type(self.HANDLER.__name__, (self.HANDLER,), {self.ATTRIBUTE: self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        threading.Thread(target=self._httpd.serve_forever, name=type(self).__name__, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


@dataclass
class Fault:
    """What goes wrong when a path is requested.

    kind: ``404``; ``html`` (200 with an HTML page); ``truncate`` (the file is served as if it ended at
    ``at_byte``); ``drop`` (the connection is closed once the response reaches file offset ``at_byte``, so a
    client can never get past it by resuming while the fault lasts); ``stall`` (like ``drop``, but the server
    first goes silent for ``stall_s`` seconds, as a throttled or hung CDN does); ``live`` (served as a live stream
    is: 200 with no Content-Length and no Range support, the connection closed at the end, so a client cannot know
    the length; write the file with ``testing.synth.tone_source(..., streamed=True)`` so the container states none
    either). ``times``: how many requests the
    fault hits before the path is served normally (``None``: always).
    """
    kind: str
    at_byte: int = 0
    times: int | None = None
    stall_s: float = 10.0

    def __post_init__(self):
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"Fault kind {self.kind!r}: expected one of {FAULT_KINDS}")


@dataclass
class Throttle:
    """YouTube's throttle of un-chunked requests (yt-dlp issues #17612, #13623, #15036): a response to a request with
    no Range, an open-ended Range, or a Range longer than ``max_fast_range`` bytes is sent at ``rate`` bytes/s after
    its first ``burst`` bytes. Bounded ranges up to ``max_fast_range`` (yt-dlp's 10 MiB chunks) go at full speed."""
    rate: float = 32 * 1024
    burst: int = 1024 * 1024
    max_fast_range: int = 10 * 1024 * 1024

    def applies(self, range_header: str | None, start: int, end: int) -> bool:
        bounded = bool(range_header) and re.search(r"-\s*\d+\s*$", range_header) is not None
        return not bounded or end - start + 1 > self.max_fast_range


class MediaServer(LoopbackServer):
    """Serve ``root`` on 127.0.0.1 (a free port unless ``port``); a context manager that starts and stops it.

    ``throttle``: a ``Throttle`` (YouTube-like slow un-chunked responses). ``rate_limit``: answer 429 (with
    ``Retry-After``) to every request past this many in the last 60 s, until ``rate_limit`` is set to None."""
    ATTRIBUTE = "media"

    def __init__(self, root, latency_s: float = 0.0, port: int = 0, faults: dict[str, Fault] | None = None,
                 throttle: Throttle | None = None, rate_limit: int | None = None):
        self.root = Path(root).resolve()
        self.latency_s = latency_s
        self.port = port
        self.faults = dict(faults or {})
        self.throttle = throttle
        self.rate_limit = rate_limit
        self._recent: list[float] = []       # arrival times of the requests of the last 60 s (rate_limit)
        self.bytes_sent = 0
        self.requests = 0
        self.log: list[dict] = []        # one entry per request: path, range, status, bytes
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None

    # ------------------------------------------------------------ control
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, relative_path: str) -> str:
        return f"{self.base_url}/{quote(str(relative_path).lstrip('/'))}"

    def set_fault(self, relative_path: str, fault: Fault | None) -> None:
        with self._lock:
            if fault is None:
                self.faults.pop(relative_path.lstrip("/"), None)
            else:
                self.faults[relative_path.lstrip("/")] = fault

    def bytes_for(self, relative_path: str) -> int:
        key = relative_path.lstrip("/")
        with self._lock:
            return sum(e["bytes"] for e in self.log if e["path"] == key)

    def reset_counters(self) -> None:
        with self._lock:
            self.bytes_sent, self.requests, self.log = 0, 0, []

    def start(self) -> "MediaServer":
        super().start()
        logger.info("serving %s at %s", self.root, self.base_url)
        return self

    # ------------------------------------------------------------ used by the handler
    def _take_fault(self, key: str) -> Fault | None:
        with self._lock:
            fault = self.faults.get(key)
            if fault is None:
                return None
            if fault.times is not None:
                if fault.times <= 0:
                    return None
                if fault.kind not in ("drop", "stall"):  # these count the drops really made (_consume_drop)
                    fault.times -= 1
            return fault

    def _consume_drop(self, fault: Fault) -> None:
        with self._lock:
            if fault.times is not None:
                fault.times -= 1

    def _over_rate_limit(self) -> bool:
        with self._lock:
            now = time.monotonic()
            self._recent = [t for t in self._recent if now - t < 60.0]
            self._recent.append(now)
            return self.rate_limit is not None and len(self._recent) > self.rate_limit

    def _record(self, entry: dict) -> None:
        with self._lock:
            self.requests += 1
            self.bytes_sent += entry["bytes"]
            self.log.append(entry)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now (for a server or process group a test starts next)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]

def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(first, last) byte of a single ``bytes=`` range, clipped to the file; ``None`` for no/invalid header.
    Raises ``ValueError`` for an unsatisfiable range."""
    if not header:
        return None
    match = re.fullmatch(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*", header)
    if not match or match.group(1) == match.group(2) == "":
        return None
    first, last = match.group(1), match.group(2)
    if first == "":
        start, end = max(0, size - int(last)), size - 1
    else:
        start, end = int(first), min(int(last), size - 1) if last else size - 1
    if start >= size or start > end:
        raise ValueError(f"range {header!r} outside a {size}-byte file")
    return start, end


class _Handler(BaseHTTPRequestHandler):
    media: MediaServer
    server_version = "DemoMedia/1.0"

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, CHUNK)

    def log_message(self, fmt, *args):
        logger.debug("%s " + fmt, self.address_string(), *args)

    def do_HEAD(self):
        self._serve(send_body=False)

    def do_GET(self):
        self._serve(send_body=True)

    def _serve(self, send_body: bool):
        media = self.media
        if media.latency_s:
            time.sleep(media.latency_s)
        key = unquote(urlsplit(self.path).path).lstrip("/")
        entry = {"path": key, "range": self.headers.get("Range"), "status": 0, "bytes": 0, "method": self.command,
                 "cookie": self.headers.get("Cookie"), "user_agent": self.headers.get("User-Agent")}
        try:
            self._respond(key, entry, send_body)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            pass      # the client went away (yt-dlp/ffmpeg abandon probes): count what it read so far
        finally:
            media._record(entry)

    def _send_simple(self, status: int, body: bytes, content_type: str, entry: dict, send_body: bool):
        entry["status"] = status
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body:
            self.wfile.write(body)
            entry["bytes"] = len(body)

    def _respond(self, key: str, entry: dict, send_body: bool):
        media = self.media
        path = (media.root / key).resolve()
        if media._over_rate_limit():
            entry["status"] = 429
            body = b"Too Many Requests\n"
            self.send_response(429)
            self.send_header("Retry-After", "60")
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if send_body:
                self.wfile.write(body)
            return
        fault = media._take_fault(key)
        if fault is not None and fault.kind == "404" or not path.is_file() or media.root not in path.parents:
            self._send_simple(404, b"not found\n", "text/plain", entry, send_body)
            return
        if fault is not None and fault.kind == "html":
            self._send_simple(200, HTML_PAGE, "text/html; charset=utf-8", entry, send_body)
            return
        size = path.stat().st_size
        if fault is not None and fault.kind == "live":
            entry["status"] = 200
            self.send_response(200)
            self.send_header("Content-Type", CONTENT_TYPES.get(path.suffix.lower(), "application/octet-stream"))
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            if send_body:
                self._send_file(path, 0, size - 1, None, entry)
            return
        if fault is not None and fault.kind == "truncate":
            size = min(size, fault.at_byte)
        try:
            byte_range = parse_range(self.headers.get("Range"), size)
        except ValueError:
            entry["status"] = 416
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{size}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        start, end = byte_range or (0, size - 1)
        entry["status"] = 206 if byte_range else 200
        self.send_response(entry["status"])
        self.send_header("Content-Type", CONTENT_TYPES.get(path.suffix.lower(), "application/octet-stream"))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(end - start + 1))
        if byte_range:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.end_headers()
        if not send_body:
            return
        drop_at = fault.at_byte if fault is not None and fault.kind in ("drop", "stall") else None
        throttle = media.throttle if media.throttle and media.throttle.applies(self.headers.get("Range"), start, end) else None
        entry["throttled"] = throttle is not None
        if self._send_file(path, start, end, drop_at, entry, stall_s=fault.stall_s if drop_at is not None and fault.kind == "stall" else 0,
                           throttle=throttle):
            media._consume_drop(fault)

    def _send_file(self, path: Path, start: int, end: int, drop_at: int | None, entry: dict, stall_s: float = 0,
                   throttle: Throttle | None = None) -> bool:
        """Send bytes start..end; True when the connection was dropped at ``drop_at`` (after ``stall_s`` of silence).
        With ``throttle``, bytes past its burst are paced at its rate."""
        slow_since = None
        with open(path, "rb") as handle:
            handle.seek(start)
            position = start
            while position <= end:
                sent = position - start
                if throttle is not None and sent >= throttle.burst:
                    slow_since = slow_since or time.monotonic()
                    due = slow_since + (sent - throttle.burst) / throttle.rate
                    time.sleep(max(0.0, due - time.monotonic()))
                if drop_at is not None and position >= drop_at:
                    self.wfile.flush()
                    time.sleep(stall_s)
                    self._drop()
                    return True
                limit = end + 1 if drop_at is None else min(end + 1, drop_at)
                data = handle.read(min(CHUNK, limit - position))
                if not data:
                    break
                self.wfile.write(data)
                position += len(data)
                entry["bytes"] += len(data)
        return False

    def _drop(self):
        """Close the connection abruptly (RST), like a network failure mid-file."""
        self.wfile.flush()
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True


class ForwardingProxy(LoopbackServer):
    """A loopback HTTP forward proxy (what ``--proxy http://127.0.0.1:PORT`` talks to): relays absolute-form GET and
    HEAD requests (``Range`` included) to loopback servers and counts them. Tests use two to stand for two exit IPs;
    the fake YouTube tells them apart by yt-dlp's ``proxy`` option. It refuses anything but 127.0.0.1, so a test
    can never reach out."""
    ATTRIBUTE = "proxy"

    def __init__(self):
        self.requests = 0
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class _ProxyHandler(BaseHTTPRequestHandler):
    proxy: ForwardingProxy
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        logger.debug("proxy: " + fmt, *args)

    def do_GET(self):
        self._relay("GET")

    def do_HEAD(self):
        self._relay("HEAD")

    def _relay(self, method: str) -> None:
        import http.client

        target = urlsplit(self.path)
        with self.proxy._lock:
            self.proxy.requests += 1
        if target.hostname != "127.0.0.1" or not target.port:
            self.send_error(403, "this test proxy only forwards to 127.0.0.1")
            return
        upstream = http.client.HTTPConnection("127.0.0.1", target.port, timeout=30)
        headers = {k: v for k, v in self.headers.items() if k.lower() in ("range", "user-agent", "accept")}
        upstream.request(method, target.path + (f"?{target.query}" if target.query else ""), headers=headers)
        response = upstream.getresponse()
        body = response.read()
        self.send_response(response.status)
        for key, value in response.getheaders():
            if key.lower() in ("content-type", "content-range", "accept-ranges", "retry-after"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if method == "GET":
            self.wfile.write(body)
        upstream.close()


MediaServer.HANDLER, ForwardingProxy.HANDLER = _Handler, _ProxyHandler


def serve_forever(root, port: int = 8000, latency_s: float = 0.0) -> None:
    """Serve ``root`` until Ctrl-C (``python -m testing.server ROOT [PORT]``)."""
    with MediaServer(root, latency_s=latency_s, port=port) as server:
        print(f"serving {server.root} at {server.base_url} (Ctrl-C to stop)")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    import sys
    serve_forever(sys.argv[1] if len(sys.argv) > 1 else os.getcwd(), int(sys.argv[2]) if len(sys.argv) > 2 else 8000)
