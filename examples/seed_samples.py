"""The Python samples of DLWorkspace's "Job Families" document (job-families.md), exactly
as the document has them except for its mixed tabs and spaces, expanded here because
Python refuses them. They run unchanged inside a job: `make demo` runs them against
`make dev`, and tests/integration/test_shim_samples.py against the test control plane
(and checks them against the document when it is beside the checkout).
"""
from __future__ import annotations

import os
from pathlib import Path

# The samples, as the document has them (its mixed tabs and spaces expanded, which Python
# would otherwise refuse). test_samples_are_the_documents checks them against the document.
SUBMIT_CHILD = """\
def submit_child(error_handler, succes_handler):
    import os
    import requests

    jobSettings = {
        "resourcegpu": 0,
        "jobName": "tensorflow-ipython-cpu",
        "dataPath": "imagenet",
        "image": "tensorflow/tensorflow:latest",
        "cmd": "export HOME=/job && jupyter notebook --no-browser --port=8888 --ip=0.0.0.0 --notebook-dir=/",
        "interactivePort": "8888",
        "jobType": "training",
        "jobtrainingtype": "RegularJob",
        "runningasroot": "0",
        "familyToken": os.environ["FAMILY_TOKEN"]
    }

    api_url = os.environ["DLWS_REST_API"] + "/child"
    submit_child_resp = requests.get(api_url + "/SubmitJob", params=jobSettings, timeout=3)
    submit_child_resp.raise_for_status()
    submit_child_resp = submit_child_resp.json()
    if "error" in submit_child_resp:
        error_handler(submit_child_resp["error"])
    else:
        succes_handler(submit_child_resp["jobId"])
"""

KILL_JOB = """\
def kill_job(jobId, error_handler, succes_handler):
    import os
    import requests
  
    api_url = os.environ["DLWS_REST_API"]
    family_token = os.environ["FAMILY_TOKEN"]

    submit_child_resp = requests.get(api_url + "KillJob", timeout=3,
                                     params=dict(familyToken=family_token, jobId=jobId))
    submit_child_resp.raise_for_status()
    submit_child_resp = submit_child_resp.json()
    result = submit_child_resp["result"]
    if "Success" not in submit_child_resp:
        succes_handler()
    else:
        error_handler(jobId)
"""

JOB_DETAIL = """\
def job_detail(jobId, succes_handler):
    import os
    import requests
  
    api_url = os.environ["DLWS_REST_API"]
    family_token = os.environ["FAMILY_TOKEN"]

    submit_child_resp = requests.get(api_url + "JobDetail", timeout=3,
                                     params=dict(familyToken=family_token, jobId=jobId))
    submit_child_resp.raise_for_status()
    detail = submit_child_resp.json()
    succes_handler(detail)
"""

JOB_IP = """\
def job_ip(jobId, succes_handler, error_handler):
    import os
    import requests
  
    api_url = os.environ["DLWS_REST_API"]
    family_token = os.environ["FAMILY_TOKEN"]

    submit_child_resp = requests.get(api_url + "GetJobIP", timeout=3,
                                     params=dict(familyToken=family_token, jobId=jobId))
    submit_child_resp.raise_for_status()
    submit_child_resp = submit_child_resp.json()
    if "error" in submit_child_resp:
        error_handler(jobId)
    else:
        succes_handler(submit_child_resp["IP"])
"""

SAMPLES = {"submit_child": SUBMIT_CHILD, "kill_job": KILL_JOB, "job_detail": JOB_DETAIL, "job_ip": JOB_IP}
DOC_CANDIDATES = [
    Path(os.environ.get("DLWS_SEED_DOC", "/nonexistent")),
    Path(__file__).resolve().parents[2] / "shared" / "seed" / "job-families.md",
    Path("/work/shared/seed/job-families.md"),
]

# Calls one sample; its handlers print what they were given as one JSON line.
DRIVER = """
import json as _json
def _ok(*args): print(_json.dumps(["success", list(args)]))
def _err(*args): print(_json.dumps(["error", list(args)]))
"""


# The document's child (tensorflow/tensorflow:latest running Jupyter) cannot start where
# no image is pulled: its settings can be swapped as SubmitJob sends them, so the sample's
# own code still runs exactly as the document has it.
SWAP_SUBMIT_PARAMS = """
import requests as _requests
_document_get = _requests.get
def _get(url, params=None, **kwargs):
    if url.endswith("/SubmitJob") and params is not None:
        params = {**params, **_SWAPPED}
    return _document_get(url, params=params, **kwargs)
_requests.get = _get
"""


def program(sample: str, call: str, submit_params: dict[str, str] | None = None) -> str:
    """Python source that defines one sample and makes one call, e.g.
    program("job_ip", "job_ip('abc', _ok, _err)"): the handlers print a JSON line.
    submit_params: SubmitJob parameters sent instead of the sample's own."""
    swap = f"_SWAPPED = {submit_params!r}\n" if submit_params else ""
    return (swappable(sample) if submit_params else SAMPLES[sample] + DRIVER) + swap + call


def swappable(sample: str) -> str:
    """The sample with its handlers and the SubmitJob swap, for a program that goes on to
    set `_SWAPPED` (the parameters to send instead) and make its call."""
    return SAMPLES[sample] + DRIVER + SWAP_SUBMIT_PARAMS
