"""Submits N children at once from inside a job, as the document's samples call the API
(requests, a new connection per call). A 429 is the family's rate limit saying "later":
the call waits its Retry-After and is made again, as a client of a rate-limited API does;
nothing else is retried. Prints one JSON line per submission:
[index, HTTP status or null, body or error, 429s waited out]."""
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import requests

API, TOKEN = os.environ["DLWS_REST_API"], os.environ["FAMILY_TOKEN"]
COUNT, IMAGE, CMD, PREFIX = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]


def submit(i):
    params = dict(familyToken=TOKEN, jobName=f"{PREFIX}-{i}", resourcegpu=0, dataPath="data",
                  image=IMAGE, jobType="training", cmd=CMD)
    waited = 0
    while True:
        try:
            reply = requests.get(API + "child/SubmitJob", params=params, timeout=60)
        except Exception as e:  # noqa: BLE001 - every failure is reported, none retried
            return [i, None, repr(e), waited]
        if reply.status_code != 429:
            return [i, reply.status_code, reply.json(), waited]
        waited += 1
        time.sleep(float(reply.headers["Retry-After"]))


with ThreadPoolExecutor(8) as pool:
    for result in pool.map(submit, range(COUNT)):
        print(json.dumps(result), flush=True)
