"""A job of the real-node tests at some depth below the root (DEPTH: 1 for the root's
child). It reports to the root's collector (UP, SIGTERM), serves HTTP on its interactive
port 8080, and, above MAX_DEPTH, submits the next level the moment it starts, with the
document's SubmitJob sample run verbatim (SUBMIT_SAMPLE) and nothing but its FAMILY_TOKEN:
no parentJobId, so the shim must tell that this job is the caller."""
import json
import os
import signal
import subprocess
import sys
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer

ME = os.environ["DLWS_JOB_ID"]
DEPTH = int(os.environ["DEPTH"])
# What each level hands down to the next.
PASSED = ("JOB_PROGRAM", "SUBMIT_SAMPLE", "REPORT_TO", "JOB_IMAGE", "MAX_DEPTH")


def report(event: str) -> None:
    urllib.request.urlopen(os.environ["REPORT_TO"], data=f"{event} {ME}".encode(), timeout=10).read()


def on_sigterm(signum: int, frame: object) -> None:
    report("SIGTERM")
    os._exit(0)


def submit_next_level() -> str:
    """The sample's own code, with the settings it sends swapped for the next worker's."""
    swapped = {"image": os.environ["JOB_IMAGE"], "cmd": 'exec python3 -c "$JOB_PROGRAM"',
               "interactivePort": "8080",
               "env": json.dumps({**{k: os.environ[k] for k in PASSED}, "DEPTH": str(DEPTH + 1)})}
    source = os.environ["SUBMIT_SAMPLE"] + f"_SWAPPED = {swapped!r}\nsubmit_child(_err, _ok)\n"
    done = subprocess.run([sys.executable, "-c", source], capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        return "error:" + done.stderr.strip().splitlines()[-1].replace(" ", "_")
    handler, args = json.loads(done.stdout.strip().splitlines()[-1])
    return str(args[0]) if handler == "success" else "error:" + str(args[0]).replace(" ", "_")


signal.signal(signal.SIGTERM, on_sigterm)
if DEPTH < int(os.environ["MAX_DEPTH"]):
    report(f"SUBMITTED {submit_next_level()}")


class Hello(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = f"hello from {ME}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


report("UP")
HTTPServer(("0.0.0.0", 8080), Hello).serve_forever()
