"""A tiny offline stand-in for a public "random user" API, for the first-flow tutorial.

``GET /api/?results=N`` returns ``{"results": [...], "info": {...}}`` with N made-up users
shaped like the well-known public API's answer (name, email, location, login). The users
are deterministic: the same N always gives the same users. Binds 127.0.0.1 on a free port.

Example:
    >>> with serve() as url:                      # doctest: +SKIP
    ...     print(url)                            # http://127.0.0.1:PORT/api/
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

__all__ = ["make_users", "serve"]

_FIRST = ["Ada", "Alan", "Grace", "Linus", "Margaret", "Edsger", "Barbara", "Ken", "Frances", "Radia"]
_LAST = ["Lovelace", "Turing", "Hopper", "Torvalds", "Hamilton", "Dijkstra", "Liskov", "Thompson", "Allen", "Perlman"]
_PLACES = [("Berlin", "Germany"), ("Lyon", "France"), ("Leeds", "United Kingdom"), ("Utrecht", "Netherlands"),
           ("Porto", "Portugal"), ("Oslo", "Norway"), ("Austin", "United States"), ("Calgary", "Canada")]
MAX_RESULTS = 5000


def make_users(n: int, seed: int = 42) -> list[dict[str, Any]]:
    """The first ``n`` users of the deterministic sequence for ``seed``."""
    rng = random.Random(seed)
    users = []
    for i in range(n):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        city, country = rng.choice(_PLACES)
        users.append({
            "gender": rng.choice(["female", "male"]),
            "name": {"title": rng.choice(["Ms", "Mr", "Dr"]), "first": first, "last": last},
            "email": f"{first}.{last}{i}@example.org".lower(),
            "location": {"city": city, "country": country},
            "login": {"username": f"{first.lower()}{rng.randrange(100, 999)}"},
            "dob": {"age": rng.randrange(18, 80)},
        })
    return users


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        url = urlparse(self.path)
        if url.path.rstrip("/") != "/api":
            self._send(404, {"error": f"no such endpoint {url.path}"})
            return
        query = parse_qs(url.query)
        try:
            n = int(query.get("results", ["1"])[0])
            seed = int(query.get("seed", ["42"])[0])
        except ValueError:
            self._send(400, {"error": "results and seed must be integers"})
            return
        if not 1 <= n <= MAX_RESULTS:
            self._send(400, {"error": f"results must be between 1 and {MAX_RESULTS}"})
            return
        self._send(200, {"results": make_users(n, seed), "info": {"results": n, "seed": seed, "version": "1.4"}})

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # keep the tutorial's output readable
        pass


@contextmanager
def serve() -> Iterator[str]:
    """Run the API in a background thread; yields its base URL (``http://127.0.0.1:PORT/api/``)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, name="fake-user-api", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/api/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
