"""A loopback TCP proxy that breaks connections on purpose: each new connection takes the next
plan from a list — pass through, cut after N bytes of the request, or cut after N bytes of the
response — so the sync client meets dropped links mid-request and mid-response."""

from __future__ import annotations

import contextlib
import socket
import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class Plan:
    cut_request_after: int | None = None  # bytes client → server before the cut
    cut_response_after: int | None = None  # bytes server → client before the cut


PASS = Plan()


class FaultProxy:
    def __init__(self, upstream_port: int, plans: list[Plan] | None = None):
        self.upstream_port = upstream_port
        self.plans = list(plans or [])
        self.cuts = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _next_plan(self) -> Plan:
        with self._lock:
            return self.plans.pop(0) if self.plans else PASS

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            except OSError:
                client.close()  # the server is down: the client sees a dropped connection
                continue
            plan = self._next_plan()
            both = (client, upstream)
            threading.Thread(
                target=self._pump, args=(client, upstream, plan.cut_request_after, both), daemon=True
            ).start()
            threading.Thread(
                target=self._pump, args=(upstream, client, plan.cut_response_after, both), daemon=True
            ).start()

    def _pump(self, source: socket.socket, sink: socket.socket, limit: int | None, both) -> None:
        passed = 0
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if limit is not None and passed + len(data) > limit:
                    sink.sendall(data[: max(0, limit - passed)])
                    with self._lock:
                        self.cuts += 1
                    break
                sink.sendall(data)
                passed += len(data)
        except OSError:
            pass
        for sock in both:  # a cut or an end on either side ends the whole connection
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self) -> None:
        self._closed = True
        self._listener.close()
