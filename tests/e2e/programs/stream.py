"""A steady stream of SubmitJob calls from inside a job, until the file STOP exists (or
MAX_CALLS are made, or MAX_SECONDS pass): WORKERS callers, each one call then a PAUSE, as
the document's samples call the API (requests, a new connection per call, no retry). The
pace stays under the shim's default family limits (5 submissions a second, 100 unfinished
jobs root included), so every call should succeed. Prints one JSON line per call:
[worker, seconds since start, HTTP status or null, body or error]."""
import json
import os
import sys
import threading
import time

import requests

API, TOKEN = os.environ["DLWS_REST_API"], os.environ["FAMILY_TOKEN"]
STOP, IMAGE = sys.argv[1], sys.argv[2]
WORKERS, PAUSE, MAX_CALLS, MAX_SECONDS = 2, 2.5, 95, 300
start = time.monotonic()
lock = threading.Lock()
calls = 0


def take_call():
    global calls
    with lock:
        calls += 1
        return calls <= MAX_CALLS


def caller(worker):
    n = 0
    while not os.path.exists(STOP) and time.monotonic() - start < MAX_SECONDS and take_call():
        n += 1
        # A GPU the node does not have: the child's Pod waits unscheduled and costs nothing.
        params = dict(familyToken=TOKEN, jobName=f"stream-{worker}-{n}", resourcegpu=1, dataPath="data",
                      image=IMAGE, jobType="training", cmd="sleep 3600")
        sent = round(time.monotonic() - start, 2)
        try:
            reply = requests.get(API + "child/SubmitJob", params=params, timeout=60)
            line = [worker, sent, reply.status_code, reply.json()]
        except Exception as e:  # noqa: BLE001 - every failure is reported, none retried
            line = [worker, sent, None, repr(e)]
        with lock:
            print(json.dumps(line), flush=True)
        time.sleep(PAUSE)


threads = [threading.Thread(target=caller, args=(w,)) for w in range(WORKERS)]
for t in threads:
    t.start()
for t in threads:
    t.join()
