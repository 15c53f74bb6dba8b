"""Shared fixtures: a small synthetic dataset, extracted once, and a local HTTP server."""

from __future__ import annotations

import http.server
import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from snakevision.data import archives, synthetic
from workflow import DEMO, copy_workflow, snakemake


@dataclass(frozen=True)
class Dataset:
    """Paths of the synthetic archives and of their extracted folders."""

    images_tar: Path
    annotations_tar: Path
    images: Path
    annotations: Path

    @property
    def trimaps(self) -> Path:
        return self.annotations / "trimaps"


@pytest.fixture(scope="session")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    """Synthetic archives (3 images per breed, small sides), extracted with archives.extract."""
    root = tmp_path_factory.mktemp("pets")
    images_tar, annotations_tar = root / "images.tar.gz", root / "annotations.tar.gz"
    synthetic.write_archives(
        images_tar, annotations_tar, images_per_breed=3, seed=7, min_side=64, max_side=96
    )
    archives.extract(images_tar, root / "data" / "images", "images")
    archives.extract(annotations_tar, root / "data" / "annotations", "annotations")
    return Dataset(images_tar, annotations_tar, root / "data/images", root / "data/annotations")


@dataclass
class Server:
    """A local HTTP server of `files` (path -> bytes) with knobs for failures."""

    base: str = ""
    files: dict[str, bytes] = field(default_factory=dict)
    ranges: bool = True  # answer Range requests with 206 (416 past the end)
    ranges_from_zero: bool = False  # ...but a broken 206 that starts at byte 0
    content_length: bool = True  # send Content-Length
    drop_after: int | None = None  # close the connection after this many body bytes...
    drop_times: int = 0  # ...for the first drop_times requests
    status: dict[str, int] = field(default_factory=dict)  # path -> forced error status
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)  # path, headers

    def url(self, path: str) -> str:
        return self.base + path


def _handler(server: Server) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            server.requests.append((self.path, dict(self.headers)))
            if self.path in server.status:
                self.send_error(server.status[self.path])
                return
            if self.path not in server.files:
                self.send_error(404)
                return
            data, start = server.files[self.path], 0
            match = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range", ""))
            if server.ranges and match and int(match[1]) >= len(data):
                self.send_error(416)
                return
            if server.ranges and match:
                start = 0 if server.ranges_from_zero else int(match[1])
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            else:
                self.send_response(200)
            body = data[start:]
            if server.content_length:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if server.drop_after is not None and server.drop_times > 0:
                server.drop_times -= 1
                self.wfile.write(body[: server.drop_after])
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
                return
            self.wfile.write(body)

    return Handler


@pytest.fixture
def http_server() -> Iterator[Server]:
    """A Server on 127.0.0.1 (free port) in a thread; set its fields to shape the answers."""
    server = Server()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(server))
    httpd.daemon_threads = True
    server.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo profile run once, end to end, in a fresh copy of the workflow."""
    workdir = copy_workflow(tmp_path_factory.mktemp("demo"))
    snakemake(workdir, *DEMO)
    return workdir
