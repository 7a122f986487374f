"""A child (ROLE=child) or grandchild of the real-node tests. It reports to the root's
collector (UP, SIGTERM), serves HTTP on its interactive port 8080, and as the child
submits a grandchild with its own FAMILY_TOKEN."""
import json
import os
import signal
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer

ME = os.environ["DLWS_JOB_ID"]


def report(event: str) -> None:
    urllib.request.urlopen(os.environ["REPORT_TO"], data=f"{event} {ME}".encode(), timeout=10).read()


def on_sigterm(signum: int, frame: object) -> None:
    report("SIGTERM")
    os._exit(0)


signal.signal(signal.SIGTERM, on_sigterm)
if os.environ.get("ROLE") == "child":
    env = {k: os.environ[k] for k in ("JOB_PROGRAM", "REPORT_TO", "JOB_IMAGE")}
    query = urllib.parse.urlencode({
        "familyToken": os.environ["FAMILY_TOKEN"], "parentJobId": ME, "jobName": "grandchild",
        "resourcegpu": 0, "dataPath": "data", "jobType": "training", "image": os.environ["JOB_IMAGE"],
        "cmd": 'exec python3 -c "$JOB_PROGRAM"', "env": json.dumps({**env, "ROLE": "grandchild"})})
    url = os.environ["DLWS_REST_API"] + "child/SubmitJob?" + query
    reply = json.load(urllib.request.urlopen(url, timeout=30))
    report(f"SUBMITTED {reply.get('jobId') or 'error:' + str(reply.get('error'))}")


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
