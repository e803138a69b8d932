"""gunicorn's threaded worker, with a deadline on every request.

A client that announces a body and never sends it used to hold a worker
thread for good, so eight of them stopped the whole site. Here a request's
headers and body must arrive within ``REQUEST_DEADLINE`` seconds
(``WEB_REQUEST_DEADLINE``, default 15): every read on the client socket gets
the time that is left, and each write of the answer the same allowance. A
body that arrives too late is a 408 from the receiver; a stalled connection
is closed. A process whose threads are all taken stops accepting, so new
connections go to a process with a free thread. Idle keep-alive
connections and connections that have sent nothing yet wait in gunicorn's
poller, not in a thread, as before. A connection whose client let its
deadline pass is closed at once: gunicorn drains a closing socket on the
worker's main loop (up to 2 s), which for stalled clients held every other
connection of the process behind them. In production a buffering reverse
proxy (nginx) in front is still the first line (README, "Serving").
"""

from __future__ import annotations

import errno
import os
import socket
import sys
import time
from typing import Any

from gunicorn.glogging import Logger
from gunicorn.workers.gthread import TConn, ThreadWorker

REQUEST_DEADLINE = float(os.environ.get("WEB_REQUEST_DEADLINE", "15"))


class DeadlineSocket:
    """A client socket whose reads and writes share one deadline per request."""

    def __init__(self, sock: socket.socket, seconds: float) -> None:
        self._sock = sock
        self._seconds = seconds
        self._deadline: float | None = None
        self._expired = False  # the client let its request deadline pass
        self._closing = False

    def _arm_read(self) -> None:
        if self._deadline is None:
            return
        left = self._deadline - time.monotonic()
        if left <= 0:
            self._expired = True
            raise TimeoutError(errno.ETIMEDOUT, "request deadline passed")
        self._sock.settimeout(left)

    def _arm_write(self) -> None:
        # The answer (a 408 too) gets its own allowance, per send.
        if self._deadline is not None:
            self._sock.settimeout(self._seconds)

    def recv(self, *args: Any) -> bytes:
        if self._closing:
            # gunicorn lingers on the main loop to drain a closing socket; a
            # client past its deadline is not waited for (the FIN is sent).
            return b"" if self._expired else self._sock.recv(*args)
        self._arm_read()
        try:
            return self._sock.recv(*args)
        except TimeoutError:
            self._expired = True
            raise

    def shutdown(self, how: int) -> None:
        # The close has begun: gunicorn's own linger cap applies, not ours.
        self._closing = True
        self._deadline = None
        self._sock.shutdown(how)

    def recv_into(self, *args: Any) -> int:
        if self._closing and self._expired:
            return 0
        self._arm_read()
        try:
            return self._sock.recv_into(*args)
        except TimeoutError:
            self._expired = True
            raise

    def send(self, *args: Any) -> int:
        self._arm_write()
        return self._sock.send(*args)

    def sendall(self, *args: Any) -> None:
        self._arm_write()
        return self._sock.sendall(*args)

    def setblocking(self, flag: bool) -> None:
        # gunicorn makes the socket blocking when a thread takes the request
        # (the clock starts) and non-blocking when it goes back to the poller
        # between requests (no deadline there; keepalive bounds that wait).
        if not self._closing:
            self._deadline = time.monotonic() + self._seconds if flag else None
        self._sock.setblocking(flag)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class DeadlineThreadWorker(ThreadWorker):
    def accept(self, listener: socket.socket) -> None:
        try:
            client_sock, client_addr = listener.accept()
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        client_sock.setblocking(True)
        wrapped = DeadlineSocket(client_sock, REQUEST_DEADLINE)
        conn = TConn(self.cfg, wrapped, client_addr, listener.getsockname())
        self.enqueue_req(conn)

    # A worker whose threads are all taken stops accepting, so the next
    # connection goes to a process with a free thread instead of queueing
    # behind slow clients here (gthread otherwise accepts up to 1000).
    def init_process(self) -> None:
        self._in_threads = 0
        super().init_process()

    def enqueue_req(self, conn: TConn) -> None:
        self._in_threads += 1
        if self._in_threads >= self.cfg.threads:
            super().set_accept_enabled(False)
        super().enqueue_req(conn)

    def finish_request(self, conn: TConn, fs: Any) -> None:
        self._in_threads -= 1
        super().finish_request(conn, fs)

    def set_accept_enabled(self, enabled: bool) -> None:
        super().set_accept_enabled(enabled and self._in_threads < self.cfg.threads)


class DeadlineLogger(Logger):
    """gunicorn's logger, with a passed deadline logged as one line: a client
    that stalls is routine (an attack, a bad network), not a server error
    with a traceback."""

    def exception(self, msg: str, *args: Any, **kwargs: Any) -> None:
        if isinstance(sys.exc_info()[1], TimeoutError):
            self.info("request deadline passed; connection closed")
            return
        super().exception(msg, *args, **kwargs)
