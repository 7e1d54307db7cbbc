"""The network of an office, on loopback: a forward proxy (CONNECT) and a TLS front with a
certificate from a test certificate authority, for the proxy and TLS tests. Every socket is on
127.0.0.1; the proxy passes a tunnel only to the loopback addresses it is given."""

from __future__ import annotations

import select
import socket
import ssl
import subprocess
import threading
from pathlib import Path

HOST_NAME = "courses.test"  # the name the importer is pointed at; only the proxy knows where it is


def make_certificates(folder: Path) -> tuple[Path, Path, Path]:
    """(the CA's certificate, the server's certificate, its key) for HOST_NAME, made with openssl."""
    folder.mkdir(parents=True, exist_ok=True)
    ca_key, ca_cert = folder / "ca.key", folder / "ca.pem"
    key, csr, cert = folder / "server.key", folder / "server.csr", folder / "server.pem"
    ext = folder / "ext.cnf"
    ext.write_text(f"subjectAltName=DNS:{HOST_NAME}\nbasicConstraints=CA:FALSE\n", encoding="utf-8")

    def openssl(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca_cert, "-days", "2",
            "-subj", "/CN=Importer Test CA")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", f"/CN={HOST_NAME}")
    openssl("x509", "-req", "-in", csr, "-CA", ca_cert, "-CAkey", ca_key, "-CAcreateserial", "-out", cert,
            "-days", "2", "-extfile", ext)
    return ca_cert, cert, key


def _pipe(a: socket.socket, b: socket.socket, closing: threading.Event) -> None:
    sockets = [a, b]
    try:
        while not closing.is_set():
            ready, _, _ = select.select(sockets, [], [], 0.2)
            for source in ready:
                data = source.recv(65536)
                if not data:
                    return
                (b if source is a else a).sendall(data)
    except OSError:
        return
    finally:
        for s in sockets:
            try:
                s.close()
            except OSError:
                pass


class _Listener:
    def __init__(self):
        self.closing = threading.Event()
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.closing.set()
        self.thread.join(5)
        self.sock.close()

    def _serve(self):
        while not self.closing.is_set():
            try:
                client, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            threading.Thread(target=self.handle, args=(client,), daemon=True).start()

    def handle(self, client: socket.socket) -> None:
        raise NotImplementedError


class TLSFront(_Listener):
    """TLS on 127.0.0.1, passing the decrypted bytes to a plain HTTP server (the sandbox)."""

    def __init__(self, backend_port: int, cert: Path, key: Path):
        super().__init__()
        self.backend_port = backend_port
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(cert, key)

    def handle(self, client):
        try:
            client.settimeout(10)
            secure = self.context.wrap_socket(client, server_side=True)
            secure.settimeout(None)
        except (ssl.SSLError, OSError):
            client.close()  # the client refused our certificate: that is the point of one test
            return
        backend = socket.create_connection(("127.0.0.1", self.backend_port))
        _pipe(secure, backend, self.closing)


class ForwardProxy(_Listener):
    """An HTTP proxy that answers CONNECT: to the names in `routes` (name:port -> a loopback port)
    it opens a tunnel; to anything else, 502. `seen` lists every CONNECT target asked for."""

    def __init__(self, routes: dict[str, int]):
        super().__init__()
        self.routes = routes
        self.seen: list[str] = []

    def handle(self, client):
        client.settimeout(10)
        head = b""
        while b"\r\n\r\n" not in head and len(head) < 8192:
            chunk = client.recv(4096)
            if not chunk:
                client.close()
                return
            head += chunk
        line = head.split(b"\r\n", 1)[0].decode("latin-1")
        method, target, _ = (line.split(" ") + ["", ""])[:3]
        self.seen.append(f"{method} {target}")
        port = self.routes.get(target) if method == "CONNECT" else None
        if port is None:
            client.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            client.close()
            return
        backend = socket.create_connection(("127.0.0.1", port))
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        client.settimeout(None)
        _pipe(client, backend, self.closing)


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
