"""A slow link on loopback: a TCP proxy that adds delay and caps throughput, to imitate a remote kernel.

Colab's kernel is remote: every slider move crosses the student's link twice.  This proxy sits
between Chromium and the Jupyter server (HTTP and websockets alike: it only moves bytes), listens
on 127.0.0.1 only, and gives each direction half the round-trip time as one-way delay and the
same bandwidth cap.  A chunk of ``b`` bytes leaves when the link is free, takes ``8 b / rate``
seconds to serialise, then ``rtt / 2`` to arrive, as on a real bottleneck link.  It counts the
bytes it moves in each direction, so a benchmark can report bytes per move.  Opening a
connection is not delayed (the proxy accepts at once): fine for a notebook, whose moves travel
on one long-lived websocket.

Used by the browser benchmark (``bench/browser_latency.py``) and checked by ``tests/test_browser.py``.
Use it from Python (``with SlowLink(8888, rtt_ms=150, mbit=10) as link: link.port``) or as a
command (``bench/slow_link.py`` runs this module's ``main``)::

    python bench/slow_link.py --target 8888 --rtt 150 --mbit 10 [--port 9999]

then open ``http://127.0.0.1:<port>/`` instead of the server's own port.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import threading
import time
from collections.abc import Awaitable
from typing import Any

LOOPBACK = "127.0.0.1"
Reader = asyncio.StreamReader
Writer = asyncio.StreamWriter
#: Bytes scheduled on the link as one piece: big enough to keep asyncio's overhead low, small
#: enough that a large message streams out over time instead of arriving in one block.
SEGMENT = 16 * 1024
#: The link's buffer in each direction; a full buffer stops reading, so the sender feels the cap.
BUFFER_SEGMENTS = 64


class Direction:
    """One way of the link: a serialising bottleneck followed by a fixed propagation delay."""

    def __init__(self, delay_s: float, bytes_per_s: float | None) -> None:
        self.delay_s = delay_s
        self.bytes_per_s = bytes_per_s
        self.free_at = 0.0
        self.bytes = 0

    def arrival(self, now: float, size: int) -> float:
        """When a chunk of ``size`` bytes sent at ``now`` reaches the other end (and book the link)."""
        start = max(now, self.free_at)
        serialised = start + (size / self.bytes_per_s if self.bytes_per_s else 0.0)
        self.free_at = serialised
        self.bytes += size
        return serialised + self.delay_s


class SlowLink:
    """A loopback proxy to ``127.0.0.1:target`` with ``rtt_ms`` round trip and ``mbit`` Mbit/s each way.

    Runs its own asyncio loop in a daemon thread; ``port`` is where to connect.  ``down`` counts
    server-to-browser bytes, ``up`` browser-to-server bytes (all connections together).
    ``mbit=None`` leaves the throughput uncapped.
    """

    def __init__(self, target: int, rtt_ms: float, mbit: float | None, port: int = 0) -> None:
        self.target = target
        self.rtt_ms = rtt_ms
        self.mbit = mbit
        rate = mbit * 1e6 / 8 if mbit else None
        # One bottleneck per direction shared by every connection, as a student's single link is.
        self.down = Direction(rtt_ms / 2000.0, rate)
        self.up = Direction(rtt_ms / 2000.0, rate)
        self.port = port
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, name="slow-link", daemon=True)

    @property
    def label(self) -> str:
        cap = f"{self.mbit:g} Mbit/s" if self.mbit else "uncapped"
        return f"{self.rtt_ms:g} ms round trip, {cap}"

    def start(self) -> SlowLink:
        self._thread.start()
        self._server = self._call(asyncio.start_server(self._connection, LOOPBACK, self.port))
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    def stop(self) -> None:
        """Close the listening socket and every open connection, then end the loop's thread."""
        if self._server is None:
            return
        self._call(self._shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    async def _shutdown(self) -> None:
        assert self._server is not None
        self._server.close()
        self._server = None
        tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def __enter__(self) -> SlowLink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def counters(self) -> tuple[int, int]:
        """(bytes down, bytes up) so far."""
        return self.down.bytes, self.up.bytes

    def _call(self, coroutine: Awaitable[Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=10)  # type: ignore[arg-type]

    async def _connection(
        self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter
    ) -> None:
        try:
            server_reader, server_writer = await asyncio.open_connection(LOOPBACK, self.target)
        except OSError:
            client_writer.close()
            return
        try:
            await asyncio.gather(
                _pump(client_reader, server_writer, self.up),
                _pump(server_reader, client_writer, self.down),
                return_exceptions=True,
            )
        except asyncio.CancelledError:
            # Shutting down: end quietly (asyncio's stream callback reports a cancelled handler).
            client_writer.close()
            server_writer.close()


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, link: Direction) -> None:
    """Move bytes one way through ``link``: read, book the link, deliver at the arrival time."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue(BUFFER_SEGMENTS)

    async def deliver() -> None:
        while (item := await queue.get()) is not None:
            due, data = item
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(data)
            await writer.drain()

    delivering = asyncio.create_task(deliver())
    try:
        while data := await reader.read(SEGMENT):
            await queue.put((link.arrival(loop.time(), len(data)), data))
    except (ConnectionError, OSError):
        pass
    finally:
        await queue.put(None)
        with contextlib.suppress(ConnectionError, OSError):
            await delivering
            writer.close()


def self_test(rtt_ms: float = 150.0, mbit: float = 10.0, size: int = 1_000_000) -> dict[str, float]:
    """Check the proxy against its own model: a request/response round trip and a large download.

    A tiny server on loopback answers one byte with ``size`` bytes.  Expected: the first byte
    back after about ``rtt_ms`` (plus one segment's serialisation), and all of it after about
    ``rtt_ms + 8 * size / mbit`` ms.  Returns the measured and the expected times in ms.
    """
    import socket
    import socketserver

    class Answer(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            self.request.recv(1)
            self.request.sendall(b"x" * size)

    with socketserver.TCPServer((LOOPBACK, 0), Answer) as sink:
        threading.Thread(target=sink.handle_request, daemon=True).start()
        with (
            SlowLink(int(sink.server_address[1]), rtt_ms, mbit) as link,
            socket.create_connection((LOOPBACK, link.port)) as sock,
        ):
            start = time.perf_counter()
            sock.sendall(b"?")
            received = len(sock.recv(65536))
            first = time.perf_counter() - start
            while received < size and (chunk := sock.recv(65536)):
                received += len(chunk)
            total = time.perf_counter() - start
    return {
        "first_byte_ms": first * 1000,
        "first_byte_expected_ms": rtt_ms + 8 * min(SEGMENT, size) / (mbit * 1e6) * 1000,
        "all_ms": total * 1000,
        "all_expected_ms": rtt_ms + 8 * size / (mbit * 1e6) * 1000,
        "bytes": float(received),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", type=int, help="the Jupyter server's port on 127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="where to listen (0: any free port)")
    parser.add_argument("--rtt", type=float, default=150.0, help="round trip added, ms")
    parser.add_argument("--mbit", type=float, default=10.0, help="throughput cap each way, Mbit/s (0: none)")
    parser.add_argument("--self-test", action="store_true", help="check the delay and the cap, then exit")
    args = parser.parse_args(argv)
    if args.self_test:
        for key, value in self_test(args.rtt, args.mbit or 10.0).items():
            print(f"{key:>24} {value:10.1f}")
        return 0
    if args.target is None:
        parser.error("--target is required (or --self-test)")
    with SlowLink(args.target, args.rtt, args.mbit or None, args.port) as link:
        print(f"http://{LOOPBACK}:{link.port}/ -> {LOOPBACK}:{args.target} ({link.label}); Ctrl-C stops it")
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)
    return 0


if __name__ == "__main__":
    sys.exit(main())
