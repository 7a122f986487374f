"""Kill/submit races, run inside the root's container by the real-node kill-race test.
argv: races (JSON [[killed, parent], ...]), submissions per race, spread (s), the child's
SubmitJob parameters (JSON). All races at once: each sends KillJob on `killed` half-way
through `spread` s in which its submissions go under `parent`, evenly spaced, so some are
made before the kill and some after. Prints one JSON line:
per race, when the kill was sent and answered (this machine's clock, which every
container on the node shares) and each submission's answer."""
import json
import os
import sys
import threading
import time

import requests

races, per_race, spread, job = json.loads(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), json.loads(sys.argv[4])
api, token = os.environ["DLWS_REST_API"] + "child/", os.environ["FAMILY_TOKEN"]


def call(op, **params):
    reply = requests.get(api + op, params={"familyToken": token, **params}, timeout=60)
    return [reply.status_code, reply.json()]


def race(killed, parent, out):
    answers = []

    def submit(offset):
        time.sleep(offset)
        answers.append(call("SubmitJob", parentJobId=parent, **job))
    threads = [threading.Thread(target=submit, args=(spread * i / per_race,)) for i in range(per_race)]
    for t in threads:
        t.start()
    time.sleep(spread / 2)
    sent = time.time()
    status, body = call("KillJob", jobId=killed)
    answered = time.time()
    for t in threads:
        t.join()
    out.append({"killed": killed, "parent": parent, "kill": [sent, answered, status, body], "submissions": answers})


results = []
workers = [threading.Thread(target=race, args=(killed, parent, results)) for killed, parent in races]
for w in workers:
    w.start()
for w in workers:
    w.join()
print(json.dumps(results))
