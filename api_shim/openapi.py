"""The OpenAPI 3.0 description served at /openapi.json.

Built from the same constants the handlers and the parameter parser use (the contract's
parameter names and bounds, the settings' defaults), and checked against the app's
routes by a unit test, so it stays true to the implementation.
"""
from __future__ import annotations

import copy
import functools
from typing import Any, Final

from api_shim import idempotency
from api_shim.settings import Settings
from dlws_contract import spec
from dlws_contract.distributed import MAX_COUNT
from dlws_contract.job_log import LOG_BYTES, LOG_LINES
from dlws_contract.quantity import MAX_LENGTH as quantity_max, QUANTITY_PATTERN

_ERROR: Final = {"type": "object", "required": ["error"],
                 "properties": {"error": {"type": "string"}}}


def _string(description: str, max_length: int | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string", "description": description}
    if max_length:
        schema["maxLength"] = max_length
    return schema


def _submit_parameters() -> dict[str, dict[str, Any]]:
    p: dict[str, dict[str, Any]] = {
        "jobName": _string("A human name for the job (required).", spec.MAX_JOB_NAME),
        "resourcegpu": {"type": "integer", "minimum": 0, "maximum": spec.MAX_GPUS,
                        "description": "GPUs (required); a string of digits is accepted."},
        "dataPath": _string("DLWS data path (required): /data is <storage>/storage/<dataPath>, shared "
                            "by all users; also DLWS_DATA_PATH. No '..', '\\.', leading '/' or '\\'.",
                            spec.MAX_PATH),
        "image": _string("Container image (required).", spec.MAX_IMAGE),
        "jobType": _string("DLWS job type, e.g. training (required).", spec.MAX_JOB_TYPE),
        "cmd": _string("Run through bash -c (/bin/sh -c if the image has no bash) as the job's user, "
                       "HOME=/job; empty runs the image's entry point.", spec.MAX_CMD),
        "workPath": _string("DLWS work path: /work is <storage>/work/<workPath>, prefixed with the "
                            "user's name unless it starts with it (default: the user's name); also "
                            "DLWS_WORK_PATH. The same rules as dataPath.", spec.MAX_PATH),
        "jobPath": _string("DLWS job path: /job is <storage>/work/<jobPath>, relative to the user like "
                           "workPath (default <userName>/jobs/<yymmdd>/<jobId>); also DLWS_JOB_PATH. "
                           "The same rules as dataPath.", spec.MAX_PATH),
        "logDir": _string("DLWS log directory, passed as DLWS_LOG_DIR.", spec.MAX_PATH),
        "interactivePort": _string(
            f"Ports the job serves on, separated by ',' or ';' (at most {spec.MAX_PORTS}); "
            "a JSON body may give a list of integers."),
        "jobtrainingtype": {"type": "string", "enum": list(spec.SUPPORTED_TRAINING_TYPES),
                            "description": "RegularJob (default: one Pod) or PSDistJob (numps parameter "
                                           "servers and numpsworker workers, each a Pod, named ps-<i> and "
                                           "worker-<i> inside the job); MPIDistJob is refused."},
        "runningasroot": _string("1/true/yes or 0/false/no: run the container as uid 0."),
        "vcName": {"type": "string", "maxLength": spec.MAX_VC_NAME, "pattern": spec.VC_NAME_PATTERN,
                   "description": "DLWS's virtual cluster, passed as DLWS_VC_NAME; default: the parent's."},
        "env": _string(f'A JSON object of extra environment variables (at most {spec.MAX_ENV}); '
                       f'names {spec.RESERVED_ENV_TEXT} are reserved.'),
        "parentJobId": _string("A job of the caller's family to nest the new job under; "
                               "default: the calling job (the family's job whose Pod sent the "
                               "request, told by its source address), else the family root."),
        idempotency.PARAMETER: {
            "type": "string", "minLength": 1, "maxLength": idempotency.MAX_KEY, "pattern": "^[!-~]+$",
            "description": f"Makes a retry safe (also as the {idempotency.HEADER} header): the same "
                           "key in the same family answers the same jobId and makes nothing new, "
                           "while its job exists; with other parameters, 422."},
    }
    p.update(_resource_parameters())
    for name, what in (("numps", "parameter servers"), ("numpsworker", "workers")):
        p[name] = {"type": "integer", "minimum": 0, "maximum": MAX_COUNT,
                   "description": f"PSDistJob: its {what}, at least 1 (numps + numpsworker within the "
                                  f"server's bound of Pods per job, {Settings().max_pods_per_job} by default); "
                                  "otherwise only 0."}
    p["nummpiworker"] = {"type": "integer", "enum": [0],
                         "description": "Accepted for DLWS clients; only 0 (MPIDistJob is not supported)."}
    for name in sorted(spec.IGNORED_PARAMETERS - {"familyToken"}):
        p[name] = _string("Accepted for DLWS clients and ignored: a child runs as its family's "
                          "user, in its family.")
    return p


def _resource_parameters() -> dict[str, dict[str, Any]]:
    """CPU, memory, GPU type and preemption, as DLWS took them (issue 20)."""
    def quantity(what: str) -> dict[str, Any]:
        return {"type": "string", "maxLength": quantity_max, "pattern": QUANTITY_PATTERN, "description": what}
    pairing = "; a request never above its limit. Without either of a pair, the cluster's defaults."
    return {
        "cpurequest": quantity("CPU request in cores, a Kubernetes quantity (500m, 2); without it, "
                               "cpulimit" + pairing),
        "cpulimit": quantity(f"CPU limit (at most {spec.MAX_CPU}); without it, cpurequest" + pairing),
        "memoryrequest": quantity("Memory request in bytes (2048M, 4Gi); without it, memorylimit" + pairing),
        "memorylimit": quantity(f"Memory limit (at most {spec.MAX_MEMORY}); without it, memoryrequest" + pairing),
        "gpuType": {"type": "string", "maxLength": spec.MAX_GPU_TYPE, "pattern": spec.GPU_TYPE_PATTERN,
                    "description": "Which kind of GPU node the job runs on (a node label value)."},
        "preemptionAllowed": _string("1/true/yes: the job may be preempted (a lower priority); default 0."),
    }


def _job_id_parameter() -> dict[str, Any]:
    return {"type": "string", "maxLength": 63, "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
            "description": "The job's id (its DLWSJob name)."}


def _operation(op: str, summary: str, params: dict[str, dict[str, Any]], required: list[str],
               ok: dict[str, Any]) -> dict[str, Any]:
    query = [{"name": "familyToken", "in": "query", "required": False,
              "description": "The calling job's $FAMILY_TOKEN (or send Authorization: Bearer).",
              "schema": {"type": "string"}}]
    query += [{"name": n, "in": "query", "required": n in required, "schema": s}
              for n, s in params.items()]
    body_schema = {"type": "object", "required": required,
                   "properties": {"familyToken": {"type": "string"}, **params}}
    responses = {
        "200": {"description": "The answer, or an application error as {\"error\": ...} "
                               "(KillJob: the result strings).",
                "content": {"application/json": {"schema": ok}}},
        "400": {"description": "Malformed body, a parameter given twice, or an unsupported "
                               "content type; or a request HTTP cannot parse (the connection "
                               "is closed).",
                "content": {"application/json": {"schema": _ERROR}}},
        "403": {"description": "familyToken missing, malformed, or not of a live family.",
                "content": {"application/json": {"schema": _ERROR}}},
        "408": {"description": "The body did not arrive within the read timeout; the "
                               "connection is closed.",
                "content": {"application/json": {"schema": _ERROR}}},
        "413": {"description": "Body larger than the configured maximum.",
                "content": {"application/json": {"schema": _ERROR}}},
        # Answered by the HTTP layer before any parameter is read (parser_errors.py).
        "414": {"description": "Request line (path and query) longer than the body limit; "
                               "the connection is closed.",
                "content": {"application/json": {"schema": _ERROR}}},
        "431": {"description": "A header line over 8190 bytes, or more than 128 headers; "
                               "the connection is closed.",
                "content": {"application/json": {"schema": _ERROR}}},
        "503": {"description": "The Kubernetes API failed, or the job index is still loading; "
                               "nothing was changed. Retry-After is set.",
                "content": {"application/json": {"schema": _ERROR}}},
    }
    responses["429"] = {
        "description": ("A family limit: requests per second, and for SubmitJob also submissions "
                        "per second, live jobs or depth. " if op == "SubmitJob" else
                        "A family limit: requests per second. ") + "Retry-After says when to try again.",
        "headers": {"Retry-After": {"schema": {"type": "integer"}}},
        "content": {"application/json": {"schema": _ERROR}}}
    if op == "SubmitJob":
        query.append({"name": idempotency.HEADER, "in": "header", "required": False,
                      "schema": {"type": "string", "maxLength": idempotency.MAX_KEY},
                      "description": f"The idempotency key, as the {idempotency.PARAMETER} parameter."})
        responses["200"]["headers"] = {idempotency.REPLAYED_HEADER: {
            "description": "true: the jobId an earlier call with this key made.",
            "schema": {"type": "string", "enum": ["true"]}}}
        responses["422"] = {"description": "The idempotency key was used with other parameters; "
                                           "nothing was changed.",
                            "content": {"application/json": {"schema": _ERROR}}}
    get = {"operationId": op, "summary": summary, "parameters": query, "responses": responses}
    post = {"operationId": f"{op}Post", "summary": summary + " (parameters in the body)",
            "parameters": [p for p in query if p["in"] == "header" or p["name"] == "familyToken"],
            "requestBody": {"content": {
                "application/json": {"schema": body_schema},
                "application/x-www-form-urlencoded": {"schema": body_schema}}},
            "responses": responses}
    return {"get": get, "post": post}


def _paths() -> dict[str, Any]:
    defaults = Settings()
    job_id = {"jobId": _job_id_parameter()}
    detail = {
        "type": "object",
        "properties": {
            "jobId": {"type": "string"}, "jobName": {"type": "string"},
            "userName": {"type": "string"}, "userId": {"type": "integer"},
            "jobStatus": {"type": "string",
                          "enum": ["queued", "scheduling", "running", "finished", "failed",
                                   "killing", "killed", "error"]},
            "killedAt": {"type": "string", "format": "date-time",
                         "description": "A killed job: when the kill was made."},
            "killedBy": {"type": "string", "description": "A killed job: the job KillJob named (itself or "
                                                          "a job above it)."},
            "log": {"type": "string",
                    "description": f"The end of what the job's cmd printed: its last {LOG_LINES} lines, at most "
                                   f"{LOG_BYTES // 1024} KiB, cut at a line start; from its Pod while it "
                                   "exists, then from <jobPath>/logs/joblog.txt on the job storage. "
                                   "Left out with log=0."},
            "jobStatusDetail": {"type": "array", "items": {"type": "object"}},
            "jobType": {"type": "string"},
            "jobTime": {"type": "string", "format": "date-time"},
            "jobParams": {"type": "object", "description": "The job's spec; never the token."},
            "parentJobId": {"type": "string", "nullable": True},
            "rootJobId": {"type": "string"},
            "podIP": {"type": "string", "nullable": True},
            "endpoints": {"type": "array", "items": {"type": "object", "properties": {
                "port": {"type": "integer"},
                "address": {"type": "string", "nullable": True, "description": "<pod IP>:<port>, once it has one."},
                "podIP": {"type": "string", "nullable": True},
                "serviceName": {"type": "string",
                                "description": "The job's Service's DNS name: the same while the job lives."},
                "serviceAddress": {"type": "string", "description": "<serviceName>:<port>"},
                "nodePort": {"type": "integer", "description": "Only where the cluster turns node ports on."}}}},
            "errorMsg": {"type": "string"},
            "isParent": {"type": "integer", "enum": [0, 1]},
        },
    }
    ops = {
        "SubmitJob": _operation(
            "SubmitJob", "Submit a child job into the caller's family.", _submit_parameters(),
            ["jobName", "resourcegpu", "dataPath", "image", "jobType"],
            {"oneOf": [{"type": "object", "required": ["jobId"],
                        "properties": {"jobId": {"type": "string", "format": "uuid"}}}, _ERROR]}),
        "KillJob": _operation(
            "KillJob", "Kill a job of the caller's family, its pod and every job below it.",
            job_id, ["jobId"],
            {"type": "object", "required": ["result"], "properties": {"result": {
                "type": "string",
                "description": "'Success, the job is scheduled to be terminated.' or "
                               "'Cannot Kill the job. Job ID: <jobId>'"}}}),
        "JobDetail": _operation(
            "JobDetail", "The DLWS-style detail of a job of the caller's family.",
            {**job_id, "log": {"type": "string", "enum": ["0", "1"],
                               "description": "0: without the job's log (default 1)."}},
            ["jobId"], {"oneOf": [detail, _ERROR]}),
        "GetJobIP": _operation(
            "GetJobIP", "The pod IP of a job of the caller's family.",
            {**job_id, "wait": {
                "type": "number", "minimum": 0,
                "description": "Seconds to hold the request until the job has an IP; "
                               f"at most the server's bound ({defaults.max_ip_wait:g} s by default)."}},
            ["jobId"],
            {"oneOf": [{"type": "object", "required": ["IP"], "properties": {
                "IP": {"type": "string", "description": "The job's Pod's IP; a distributed job's ps-0's."},
                "IPs": {"type": "array", "description": "A distributed job's Pods (with wait, once each has one).",
                        "items": {"type": "object", "properties": {
                            "role": {"type": "string", "enum": ["ps", "worker"]}, "index": {"type": "integer"},
                            "IP": {"type": "string", "nullable": True}}}}}},
                       _ERROR]}),
    }
    paths: dict[str, Any] = {}
    for op, item in ops.items():
        paths[f"/child/{op}"] = item
        # The same operation without /child (the samples use both); operationIds stay unique.
        alias = copy.deepcopy(item)
        for method in alias.values():
            method["operationId"] += "Root"
        paths[f"/{op}"] = alias
    plain = {"200": {"description": "OK"}}
    for path, summary in (("/healthz", "Liveness."),
                          ("/readyz", "Ready (200) once the job index has loaded; 503 before."),
                          ("/metrics", "Prometheus metrics."),
                          ("/openapi.json", "This document.")):
        responses = {**plain, "503": {"description": "Still loading."}} if path == "/readyz" else plain
        paths[path] = {"get": {"operationId": path.strip("/").replace(".", "_"), "summary": summary,
                               "security": [], "responses": responses}}
    return paths


@functools.cache
def _document() -> dict[str, Any]:
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "DLWS /child API",
            "version": "1.0.0",
            "description": (
                "Lets a running job submit, inspect and kill jobs of its own family. Every "
                "operation is served at /child/<Op> and /<Op>; runs of slashes are merged. "
                "Application errors are HTTP 200 with {\"error\": ...}, as in DLWorkspace."),
        },
        "components": {"securitySchemes": {
            "familyToken": {"type": "apiKey", "in": "query", "name": "familyToken"},
            "bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"familyToken": []}, {"bearer": []}],
        "paths": _paths(),
    }


def document() -> dict[str, Any]:
    return copy.deepcopy(_document())
