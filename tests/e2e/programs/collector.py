"""The root job of the real-node tests: prints every report its family's jobs POST to it,
so that the test reads them in the root's log, through the API server."""
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Collect(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        print("REPORT", body, flush=True)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


ThreadingHTTPServer(("0.0.0.0", 7000), Collect).serve_forever()
