"""A local HTTP file server for the download tests: Range support and cut connections."""

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class ServedFiles:
    """What the server serves and how: files by URL path, whether Range is honoured, and a
    one-shot limit of body bytes after which the next response is cut off."""

    files: dict = field(default_factory=dict)
    ranges: bool = True
    cut_after: int | None = None
    range_headers: list = field(default_factory=list)


def _handler(served):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            data = served.files.get(self.path)
            if data is None:
                self.send_error(404, "Not Found")
                return
            asked = self.headers.get("Range")
            served.range_headers.append(asked)
            start = int(asked.split("=")[1].split("-")[0]) if asked and served.ranges else 0
            self.send_response(206 if start else 200)
            if start:
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            self.send_header("Content-Length", str(len(data) - start))
            self.send_header("Connection", "close")
            self.end_headers()
            body = data[start:]
            if served.cut_after is not None:
                body, served.cut_after = body[: served.cut_after], None
            self.wfile.write(body)
            self.close_connection = True

        def log_message(self, *args):
            pass

    return Handler


class FileServer:
    """Serve ``ServedFiles`` on 127.0.0.1 (a free port) from a thread; use as a context manager."""

    def __init__(self):
        self.served = ServedFiles()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.served))
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path):
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)
