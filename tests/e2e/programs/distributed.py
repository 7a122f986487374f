"""Every Pod of a distributed job (PSDistJob) in the real-node tests. The ps serves HTTP on
8080 and passes on to the root's collector (REPORT_TO) what each worker tells it; each
worker finds `ps-0` by name, tells it its DLWS_ROLE_IDX, RANK and whether /job/hostfile
lists the workers, then per MODE:
  finish  waits until the ps has been reached by the root too (GET /), then exits 0;
  fail    worker-1 exits 3, the others stay;
  hold    stays; worker-0 first submits a grandchild, with nothing but its FAMILY_TOKEN.
Every Pod reports SIGTERM. Reports: `<EVENT> <what> <jobId>/<host>`."""
import os
import signal
import socket
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

JOB = os.environ["DLWS_JOB_ID"]
ROLE, INDEX = os.environ["DLWS_ROLE_NAME"], int(os.environ["DLWS_ROLE_IDX"])
ME = f"{JOB}/{ROLE}-{INDEX}"
MODE = os.environ["MODE"]
WORKERS = int(os.environ["DLWS_NUM_WORKER"])


def report(event: str, what: str) -> None:
    urllib.request.urlopen(os.environ["REPORT_TO"], data=f"{event} {what} {ME}".encode(), timeout=10).read()


def on_sigterm(signum: int, frame: object) -> None:
    report("SIGTERM", "-")
    os._exit(0)


def serve_as_ps() -> None:
    got: dict[str, str] = {}
    seen = threading.Event()

    class Ps(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/":
                seen.set()
                body = f"ps-0 of {JOB}"
            else:  # /go: may the workers finish?
                body = "go" if seen.is_set() and len(got) == WORKERS else "wait"
            self._answer(body)

        def do_POST(self) -> None:
            worker, what = self.rfile.read(int(self.headers["Content-Length"])).decode().split()
            got[worker] = what
            urllib.request.urlopen(os.environ["REPORT_TO"], data=f"PSGOT {what} {JOB}/worker-{worker}".encode(),
                                   timeout=10).read()
            self._answer("ok")

        def _answer(self, text: str) -> None:
            body = text.encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    ThreadingHTTPServer(("0.0.0.0", 8080), Ps).serve_forever()


def ps_says(path: str, data: bytes | None = None) -> str:
    """Asks ps-0 by its DLWS name, until its name resolves and it answers."""
    deadline = time.monotonic() + 120
    while True:
        try:
            socket.gethostbyname("ps-0")
            with urllib.request.urlopen(f"http://ps-0:8080{path}", data=data, timeout=5) as reply:
                return str(reply.read().decode())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def submit_grandchild() -> str:
    import requests
    params = {"familyToken": os.environ["FAMILY_TOKEN"], "jobName": "grandchild", "resourcegpu": 0,
              "dataPath": "d", "image": os.environ["JOB_IMAGE"], "jobType": "training", "cmd": "sleep 3600",
              "cpurequest": "50m", "memorylimit": "64M"}
    reply = requests.get(os.environ["DLWS_REST_API"] + "child/SubmitJob", params=params, timeout=30).json()
    return str(reply.get("jobId") or "error:" + str(reply).replace(" ", "_"))


signal.signal(signal.SIGTERM, on_sigterm)
if ROLE == "ps":
    serve_as_ps()
with open("/job/hostfile") as f:
    hostfile = "ok" if f.read() == "".join(f"worker-{i} slots=0\n" for i in range(WORKERS)) else "bad"
ps_says("/report", f"{INDEX} {os.environ['RANK']}:{hostfile}".encode())
if MODE == "finish":
    while ps_says("/go") != "go":
        time.sleep(0.5)
    raise SystemExit(0)
if MODE == "fail" and INDEX == 1:
    raise SystemExit(3)
if MODE == "hold" and INDEX == 0:
    report("SUBMITTED", submit_grandchild())
while True:
    time.sleep(3600)
