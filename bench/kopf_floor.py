"""The least any kopf operator does for a new DLWSJob: create its owned Pod, nothing else.

The submit-to-IP floor "with kopf" (bench/submit_ip.py) runs this in place of the
operator, as its own process (`python -m bench.kopf_floor`), to measure what the
mission's framework costs between a job's creation and its Pod: kopf's watch, its
per-object worker and handler machinery, and one Pod create. It makes the plain owned
Pod of the other floors (bench.objects.bare_pod) with the operator's own client, and, like
the operator, keeps nothing on a handled job (kopf_config.HandledJobs) and posts no
Events. No family check, no status write: what is left out only makes the floor lower.

It handles only jobs labelled bench.dlworkspace.io/kind=kopf, so the other floors'
jobs, created while it runs, stay the benchmark's own.
"""
from __future__ import annotations

import argparse
import logging
import os
from typing import Any

import kopf

from dlws_contract import resource
from dlws_contract.kube_api import Kube, core_path, new_api_client, owner_reference
from dlws_operator.kopf_config import HandledJobs

from bench.objects import KIND_LABEL, bare_pod

KOPF_KIND = "kopf"
JOBS = (resource.GROUP, resource.VERSION, resource.PLURAL)


@kopf.on.startup()
async def configure(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    settings.persistence.diffbase_storage = HandledJobs()
    settings.posting.enabled = False
    memo["kube"] = Kube(await new_api_client(os.environ["KUBECONFIG"], pool=32), 30.0)


@kopf.on.login()
def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
    return kopf.login_with_kubeconfig(**kwargs)


@kopf.on.create(*JOBS, labels={KIND_LABEL: KOPF_KIND})
async def create_pod(body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    pod = bare_pod(resource.pod_name(body.metadata.name), {KIND_LABEL: KOPF_KIND}, owner=owner_reference(body))
    pod["metadata"]["namespace"] = body.metadata.namespace
    await memo["kube"].create(core_path(str(body.metadata.namespace), "pods"), pod)


@kopf.on.cleanup()
async def close(memo: kopf.Memo, **_: Any) -> None:
    kube: Kube | None = memo.get("kube")
    if kube is not None:
        await kube.api.close()  # type: ignore[no-untyped-call]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.kopf_floor", description=__doc__)
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--namespace", "-n", required=True)
    parser.add_argument("--liveness", required=True)
    args = parser.parse_args()
    os.environ["KUBECONFIG"] = args.kubeconfig
    kopf.configure(verbose=False)
    logging.getLogger("kopf.objects").setLevel(logging.WARNING)
    kopf.run(standalone=True, namespaces=[args.namespace], liveness_endpoint=args.liveness)


if __name__ == "__main__":
    main()
