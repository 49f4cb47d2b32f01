#!/usr/bin/env python3
"""A reverse proxy in front of a moto server that makes every AWS request cost what it costs far away.

    .venv/bin/python bench/latency_proxy.py --upstream http://127.0.0.1:5000 --delay-ms 100 [--port 0]

Every request waits `delay` seconds before it is forwarded (one round trip to a distant region),
then goes to moto over a kept-alive connection. The proxy counts what the client did:

- requests: every AWS request it received;
- max in flight: the most requests it was serving at the same moment (1 = strictly sequential);
- connections: the TCP connections the clients opened to it (a client that keeps its connection
  alive opens one and sends many requests on it; one that does not opens one per request);
- operations: `service:Operation` -> count. The service is the signing name of the request's
  SigV4 credential scope (ec2, monitoring, s3...); the operation comes from the X-Amz-Target
  header (JSON protocols), the path of the Smithy RPC v2 CBOR protocol
  (/service/<Service>/operation/<Operation>), the Action= query or form field (query protocols),
  or, for the REST protocols (S3, S3 Control, Route 53, CloudFront), the method and path matched
  against botocore's own service model (its requestUri templates, required query-string members
  and headers: PUT /bucket/key with x-amz-copy-source is CopyObject, not PutObject).

Used by bench/bench_provision.py (LatencyProxy in-process) and by hand: on SIGINT the command line
form prints its counts. Requests to moto's own /moto-api routes are forwarded without delay and
are not counted.
"""

from __future__ import annotations

import argparse
import http.client
import re
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

_CREDENTIAL = re.compile(r"Credential=[^/]+/\d+/[^/]+/([^/]+)/")
_RPC_V2 = re.compile(r"^/service/[^/]+/operation/([^/?]+)")
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}
# The service models a signing name can mean: S3 Control signs as "s3".
_MODELS = {"s3": ("s3", "s3control")}


@dataclass(frozen=True)
class _Route:
    name: str
    method: str
    path: re.Pattern
    query_keys: frozenset[str]
    headers: frozenset[str]
    literal: int  # literal characters in the template: the more, the more specific

    def matches(self, method: str, path: str, query: dict, headers: set[str]) -> bool:
        return (
            method == self.method
            and self.path.fullmatch(path) is not None
            and self.query_keys <= query.keys()
            and self.headers <= headers
        )


def _route(name: str, operation) -> _Route:
    http = operation.http
    template, _, fixed_query = http["requestUri"].partition("?")
    parts = re.split(r"(\{[^}]+\})", template.rstrip("/") or "/")
    pattern = "".join(
        (".+" if part.endswith("+}") else "[^/]+") if part.startswith("{") else re.escape(part) for part in parts
    )
    query_keys = {pair.split("=", 1)[0] for pair in fixed_query.split("&") if pair}
    headers = set()
    shape = operation.input_shape
    for member in shape.required_members if shape else ():
        location = shape.members[member].serialization.get("location")
        wire = shape.members[member].serialization.get("name", member)
        if location == "querystring":
            query_keys.add(wire)
        elif location == "header":
            headers.add(wire.lower())
    literal = sum(len(part) for part in parts if not part.startswith("{"))
    return _Route(name, http["method"], re.compile(pattern + "/?"), frozenset(query_keys), frozenset(headers), literal)


@cache
def _routes(model_name: str) -> tuple[_Route, ...]:
    import botocore.session

    model = botocore.session.get_session().get_service_model(model_name)
    routes = [_route(name, model.operation_model(name)) for name in model.operation_names]
    # Most specific first: more required query keys and headers, then more literal path.
    routes.sort(key=lambda r: (len(r.query_keys) + len(r.headers), r.literal), reverse=True)
    return tuple(routes)


def rest_operation(service: str, method: str, path: str, query: dict, headers: set[str]) -> str:
    """The operation of a REST-protocol request, from the service model's requestUri templates."""
    for model_name in _MODELS.get(service, (service,)):
        try:
            routes = _routes(model_name)
        except Exception:
            return ""
        for route in routes:
            if route.matches(method, path, query, headers):
                return route.name
    return ""


def operation_name(method: str, url: str, headers: dict[str, str], body: bytes) -> tuple[str, str]:
    """(service, operation) of one AWS request; the operation is "METHOD /path" when unknown."""
    lowered = {key.lower(): value for key, value in headers.items()}
    match = _CREDENTIAL.search(lowered.get("authorization", ""))
    service = match.group(1) if match else "unknown"
    split = urlsplit(url)
    target = lowered.get("x-amz-target")
    if target:
        return service, target.rsplit(".", 1)[-1]
    rpc = _RPC_V2.match(split.path)
    if rpc:
        return service, rpc.group(1)
    query = parse_qs(split.query, keep_blank_values=True)
    if "Action" in query:
        return service, query["Action"][0]
    if "x-www-form-urlencoded" in lowered.get("content-type", "") and body:
        form = parse_qs(body.decode("utf-8", "replace"))
        if "Action" in form:
            return service, form["Action"][0]
    path = unquote(split.path) or "/"
    found = rest_operation(service, method, path, query, set(lowered))
    return service, found or f"{method} {path}"


@dataclass
class Counts:
    requests: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    connections: int = 0
    operations: Counter = field(default_factory=Counter)

    def snapshot(self) -> Counts:
        return Counts(self.requests, 0, self.max_in_flight, self.connections, Counter(self.operations))

    def table(self) -> str:
        lines = [f"{count:5d}  {name}" for name, count in sorted(self.operations.items(), key=lambda i: (-i[1], i[0]))]
        return "\n".join(lines)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keeps the client's connection alive, as AWS does
    server: _Server

    def setup(self) -> None:
        super().setup()
        # The status line and headers go out in one write and the body in another: with Nagle's
        # algorithm on, the body waits for the client's delayed ACK of the headers (up to 40 ms on
        # Linux), a stall AWS does not add. No delay but the configured one.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.upstream: http.client.HTTPConnection | None = None
        with self.server.lock:
            self.server.counts.connections += 1

    def finish(self) -> None:
        super().finish()
        if self.upstream is not None:
            self.upstream.close()

    def log_message(self, format: str, *args) -> None:
        pass

    def _body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _forward(self, body: bytes) -> tuple[int, str, list[tuple[str, str]], bytes]:
        headers = {key: value for key, value in self.headers.items() if key.lower() not in _HOP_BY_HOP}
        if body or self.command in ("POST", "PUT", "PATCH"):
            headers["Content-Length"] = str(len(body))
        for attempt in (1, 2):  # moto may have closed the kept-alive connection: once more on a new one
            if self.upstream is None:
                self.upstream = http.client.HTTPConnection(self.server.upstream_host, self.server.upstream_port)
                self.upstream.connect()
                self.upstream.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                self.upstream.request(self.command, self.path, body=body, headers=headers)
                response = self.upstream.getresponse()
                data = response.read()
                return response.status, response.reason, response.getheaders(), data
            except (ConnectionError, http.client.HTTPException, OSError):
                self.upstream.close()
                self.upstream = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _serve(self) -> None:
        body = self._body()
        counted = not self.path.startswith("/moto-api")
        if counted:
            service, operation = operation_name(self.command, self.path, dict(self.headers.items()), body)
            with self.server.lock:
                counts = self.server.counts
                counts.requests += 1
                counts.in_flight += 1
                counts.max_in_flight = max(counts.max_in_flight, counts.in_flight)
                counts.operations[f"{service}:{operation}"] += 1
        try:
            if counted and self.server.delay > 0:
                time.sleep(self.server.delay)
            status, reason, headers, data = self._forward(body)
        finally:
            # The request leaves the count once its answer is ready and before a byte of it is sent:
            # a client that reads the answer and sends its next request on another connection must
            # never find this one still counted (a race that showed two in flight for serial calls).
            if counted:
                with self.server.lock:
                    self.server.counts.in_flight -= 1
        self.send_response_only(status, reason)
        for key, value in headers:
            if key.lower() not in _HOP_BY_HOP and not (key.lower() == "content-length" and self.command != "HEAD"):
                self.send_header(key, value)
        if self.command != "HEAD":
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD" and data:
            self.wfile.write(data)

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address, upstream: str, delay: float) -> None:
        super().__init__(address, _Handler)
        parts = urlsplit(upstream)
        self.upstream_host, self.upstream_port = parts.hostname, parts.port or 80
        self.delay = delay
        self.lock = threading.Lock()
        self.counts = Counts()


class LatencyProxy:
    """The proxy in a background thread: `endpoint` is what a client uses instead of moto's."""

    def __init__(self, upstream: str, delay_ms: float = 0.0, port: int = 0) -> None:
        self._server = _Server(("127.0.0.1", port), upstream, delay_ms / 1000)
        self.endpoint = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def delay_ms(self) -> float:
        return self._server.delay * 1000

    @delay_ms.setter
    def delay_ms(self, value: float) -> None:
        self._server.delay = value / 1000

    def reset(self) -> None:
        with self._server.lock:
            self._server.counts = Counts()

    def counts(self) -> Counts:
        with self._server.lock:
            return self._server.counts.snapshot()

    def __enter__(self) -> LatencyProxy:
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._server.shutdown()
        self._server.server_close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream", required=True, help="the moto server, e.g. http://127.0.0.1:5000")
    parser.add_argument("--delay-ms", type=float, default=100.0)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    with LatencyProxy(args.upstream, args.delay_ms, args.port) as proxy:
        print(f"latency proxy: {proxy.endpoint} -> {args.upstream}, {args.delay_ms:g} ms per request", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            counts = proxy.counts()
            print(
                f"\n{counts.requests} requests, max in flight {counts.max_in_flight}, "
                f"{counts.connections} connections\n{counts.table()}"
            )


if __name__ == "__main__":
    socket.setdefaulttimeout(None)
    main()
