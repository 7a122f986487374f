"""Submits N children at once from inside a job, as the document's samples call the API
(requests, a new connection per call, no retry); prints one JSON line per call:
[index, HTTP status or null, body or error]."""
import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor

import requests

API, TOKEN = os.environ["DLWS_REST_API"], os.environ["FAMILY_TOKEN"]
COUNT, IMAGE, CMD = int(sys.argv[1]), sys.argv[2], sys.argv[3]


def submit(i):
    params = dict(familyToken=TOKEN, jobName=f"burst-{i}", resourcegpu=0, dataPath="data",
                  image=IMAGE, jobType="training", cmd=CMD)
    try:
        reply = requests.get(API + "child/SubmitJob", params=params, timeout=60)
        return [i, reply.status_code, reply.json()]
    except Exception as e:  # noqa: BLE001 - every failure is reported, none retried
        return [i, None, repr(e)]


with ThreadPoolExecutor(8) as pool:
    for result in pool.map(submit, range(COUNT)):
        print(json.dumps(result), flush=True)
