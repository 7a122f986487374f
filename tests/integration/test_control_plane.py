"""The local control plane is real: schema validation, garbage collection, scheduling and
kwok's pod lifecycle, RBAC and TokenRequest all come from the actual Kubernetes binaries."""
from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import pytest_asyncio
from kubernetes.aio import client
from kubernetes.aio.client.exceptions import ApiException

from devcluster.scratch import exists
from tests.conftest import ClusterAccess
from tests.integration.jobs import eventually
from tests.kubeobj import model, plain, status_of

pytestmark = pytest.mark.cluster

COMPLETE_ANNOTATION = "devcluster.dlworkspace.io/complete"
HOLD_FINALIZER = "devcluster.test/hold"


async def gone(read: Callable[[], Awaitable[Any]]) -> bool:
    return not await exists(read)


# -- a CRD's schema is enforced ---------------------------------------------------------

WIDGET_CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.devcluster.test"},
    "spec": {
        "group": "devcluster.test",
        "scope": "Namespaced",
        "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
        "versions": [{
            "name": "v1", "served": True, "storage": True,
            "schema": {"openAPIV3Schema": {
                "type": "object",
                "properties": {"spec": {
                    "type": "object",
                    "required": ["size"],
                    "properties": {
                        "size": {"type": "integer", "minimum": 1, "maximum": 10},
                        "color": {"type": "string", "enum": ["red", "blue"]},
                    },
                }},
            }},
        }],
    },
}


@pytest_asyncio.fixture(loop_scope="session")
async def widget_crd(api: client.ApiClient) -> AsyncIterator[None]:
    ext = client.ApiextensionsV1Api(api)
    try:
        await ext.create_custom_resource_definition(
            model(client.V1CustomResourceDefinition, WIDGET_CRD))
    except ApiException as e:
        if e.status != 409:  # left by an earlier run against a reused cluster
            raise

    async def established() -> bool:
        crd = plain(api, await ext.read_custom_resource_definition("widgets.devcluster.test"))
        conditions = crd.get("status", {}).get("conditions", [])
        return any(c["type"] == "Established" and c["status"] == "True" for c in conditions)

    await eventually(established, what="the widgets CRD to be Established")
    yield
    await ext.delete_custom_resource_definition("widgets.devcluster.test")


def widget(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "devcluster.test/v1", "kind": "Widget", "metadata": {"name": name}, "spec": spec}


async def test_custom_resource_violating_its_crd_schema_is_rejected(
        api: client.ApiClient, widget_crd: None, namespace: str) -> None:
    custom = client.CustomObjectsApi(api)
    created = await custom.create_namespaced_custom_object(
        "devcluster.test", "v1", namespace, "widgets", widget("fine", {"size": 3, "color": "red"}))
    assert plain(api, created)["spec"] == {"size": 3, "color": "red"}

    with pytest.raises(ApiException) as rejected:
        await custom.create_namespaced_custom_object(
            "devcluster.test", "v1", namespace, "widgets", widget("bad", {"size": 99, "color": "green"}))
    assert rejected.value.status == 422
    status = status_of(rejected.value)
    assert status["reason"] == "Invalid"
    assert "spec.size" in status["message"] and "less than or equal to 10" in status["message"]
    assert "spec.color" in status["message"] and "Unsupported value" in status["message"]
    assert await gone(lambda: custom.get_namespaced_custom_object(
        "devcluster.test", "v1", namespace, "widgets", "bad"))


# -- garbage collection follows ownerReferences -----------------------------------------

async def config_map(core: client.CoreV1Api, namespace: str, name: str, owner: dict[str, Any] | None = None,
                     *, finalizers: list[str] | None = None) -> dict[str, Any]:
    """Create a ConfigMap, optionally owned (blockOwnerDeletion) by `owner`."""
    metadata: dict[str, Any] = {"name": name, "finalizers": finalizers or []}
    if owner is not None:
        metadata["ownerReferences"] = [{
            "apiVersion": "v1", "kind": "ConfigMap", "name": owner["metadata"]["name"],
            "uid": owner["metadata"]["uid"], "blockOwnerDeletion": True}]
    created = await core.create_namespaced_config_map(
        namespace, model(client.V1ConfigMap, {"metadata": metadata}))
    return plain(core.api_client, created)


async def read_config_map(core: client.CoreV1Api, namespace: str, name: str) -> dict[str, Any]:
    return plain(core.api_client, await core.read_namespaced_config_map(name, namespace))


async def config_map_names(core: client.CoreV1Api, namespace: str) -> set[str]:
    listed = plain(core.api_client, await core.list_namespaced_config_map(namespace))
    return {cm["metadata"]["name"] for cm in listed["items"]} - {"kube-root-ca.crt"}


@pytest.mark.parametrize("propagation", ["Background", "Foreground"])
async def test_deleting_an_owner_removes_its_dependents_one_and_two_levels_deep(
        api: client.ApiClient, namespace: str, propagation: str) -> None:
    core = client.CoreV1Api(api)
    owner = await config_map(core, namespace, "owner")
    child_a = await config_map(core, namespace, "child-a", owner)
    await config_map(core, namespace, "child-b", owner)
    await config_map(core, namespace, "grandchild", child_a)
    await config_map(core, namespace, "bystander")
    assert await config_map_names(core, namespace) == {"owner", "child-a", "child-b", "grandchild", "bystander"}

    await core.delete_namespaced_config_map("owner", namespace, propagation_policy=propagation)

    async def only_bystander_left() -> bool:
        return await config_map_names(core, namespace) == {"bystander"}

    await eventually(only_bystander_left, what=f"{propagation} deletion to remove every dependent")


async def test_foreground_owner_stays_with_a_deletion_timestamp_until_its_dependents_are_gone(
        api: client.ApiClient, namespace: str) -> None:
    core = client.CoreV1Api(api)
    owner = await config_map(core, namespace, "owner")
    # Our finalizer holds the child in "being deleted" until we release it.
    child = await config_map(core, namespace, "child", owner, finalizers=[HOLD_FINALIZER])
    await config_map(core, namespace, "grandchild", child)

    await core.delete_namespaced_config_map("owner", namespace, propagation_policy="Foreground")

    async def child_held_and_grandchild_gone() -> bool:
        held = await read_config_map(core, namespace, "child")
        grandchild_gone = await gone(lambda: core.read_namespaced_config_map("grandchild", namespace))
        return "deletionTimestamp" in held["metadata"] and grandchild_gone

    await eventually(child_held_and_grandchild_gone, what="the collector to delete child and grandchild")
    waiting_owner = await read_config_map(core, namespace, "owner")
    assert "deletionTimestamp" in waiting_owner["metadata"]
    assert "foregroundDeletion" in waiting_owner["metadata"]["finalizers"]

    async def release_child() -> bool:
        held = await read_config_map(core, namespace, "child")
        held["metadata"]["finalizers"] = [f for f in held["metadata"]["finalizers"] if f != HOLD_FINALIZER]
        try:
            # resourceVersion is kept: a concurrent update by the collector is a 409.
            await core.replace_namespaced_config_map("child", namespace, model(client.V1ConfigMap, held))
        except ApiException as e:
            if e.status == 409:  # the collector updated it meanwhile (its own finalizer)
                return False
            raise
        return True

    await eventually(release_child, what="the child's finalizer to be removed")
    await eventually(lambda: gone(lambda: core.read_namespaced_config_map("owner", namespace)),
                     what="the owner to go once its dependents are gone")
    assert await config_map_names(core, namespace) == set()


# -- pods: scheduled onto kwok nodes, run, complete, go away ----------------------------

def pod(name: str, annotations: dict[str, str] | None = None) -> client.V1Pod:
    return model(client.V1Pod, {
        "metadata": {"name": name, "annotations": annotations or {}},
        "spec": {"containers": [{"name": "main", "image": "busybox", "command": ["sleep", "3600"]}]},
    })


async def pod_in_phase(core: client.CoreV1Api, namespace: str, name: str, phase: str) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        current = plain(core.api_client, await core.read_namespaced_pod(name, namespace))
        return current if current.get("status", {}).get("phase") == phase else None

    return await eventually(probe, what=f"pod {name} to be {phase}")


async def test_pod_is_scheduled_onto_a_kwok_node_and_runs_with_a_pod_ip(
        api: client.ApiClient, namespace: str) -> None:
    core = client.CoreV1Api(api)
    await core.create_namespaced_pod(namespace, pod("runner"))

    running = await pod_in_phase(core, namespace, "runner", "Running")

    node = plain(api, await core.read_node(running["spec"]["nodeName"]))
    assert node["metadata"]["labels"]["type"] == "kwok"
    pod_ip = running["status"].get("podIP")
    assert pod_ip, running["status"]
    assert ipaddress.ip_address(pod_ip) in ipaddress.ip_network(node["spec"]["podCIDR"])
    conditions = {c["type"]: c["status"] for c in running["status"]["conditions"]}
    assert conditions["Ready"] == "True" and conditions["PodScheduled"] == "True"


async def test_deleted_pod_is_removed(api: client.ApiClient, namespace: str) -> None:
    core = client.CoreV1Api(api)
    await core.create_namespaced_pod(namespace, pod("doomed"))
    await pod_in_phase(core, namespace, "doomed", "Running")

    await core.delete_namespaced_pod("doomed", namespace)

    await eventually(lambda: gone(lambda: core.read_namespaced_pod("doomed", namespace)),
                     what="the deleted pod to disappear")


@pytest.mark.parametrize("outcome, exit_code", [("Succeeded", 0), ("Failed", 1)])
async def test_pod_annotated_for_completion_reaches_that_phase(
        api: client.ApiClient, namespace: str, outcome: str, exit_code: int) -> None:
    core = client.CoreV1Api(api)
    await core.create_namespaced_pod(namespace, pod("worker", {COMPLETE_ANNOTATION: outcome}))

    finished = await pod_in_phase(core, namespace, "worker", outcome)

    terminated = finished["status"]["containerStatuses"][0]["state"]["terminated"]
    assert terminated["exitCode"] == exit_code


async def test_running_pod_annotated_later_completes(api: client.ApiClient, namespace: str) -> None:
    core = client.CoreV1Api(api)
    await core.create_namespaced_pod(namespace, pod("late"))
    await pod_in_phase(core, namespace, "late", "Running")

    await core.patch_namespaced_pod("late", namespace,
                                    {"metadata": {"annotations": {COMPLETE_ANNOTATION: "Succeeded"}}})

    finished = await pod_in_phase(core, namespace, "late", "Succeeded")
    assert finished["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 0


# -- RBAC: a ServiceAccount's token gets exactly what its Role grants ------------------

async def service_account_token(core: client.CoreV1Api, namespace: str, name: str) -> str:
    await core.create_namespaced_service_account(
        namespace, client.V1ServiceAccount(metadata=client.V1ObjectMeta(name=name)))
    request = client.AuthenticationV1TokenRequest(spec=client.V1TokenRequestSpec(
        audiences=[], expiration_seconds=600))
    response = plain(core.api_client, await core.create_namespaced_service_account_token(name, namespace, request))
    token: str = response["status"]["token"]
    return token


def client_for_token(cluster: ClusterAccess, token: str) -> client.ApiClient:
    configuration = client.Configuration(host=cluster.server, api_key={"authorization": token},
                                         api_key_prefix={"authorization": "Bearer"})
    configuration.ssl_ca_cert = str(cluster.ca_file)
    return client.ApiClient(configuration=configuration)


async def test_identity_without_rbac_permissions_is_forbidden(
        api: client.ApiClient, cluster: ClusterAccess, namespace: str) -> None:
    token = await service_account_token(client.CoreV1Api(api), namespace, "nobody")
    async with client_for_token(cluster, token) as as_nobody:
        with pytest.raises(ApiException) as refused:
            await client.CoreV1Api(as_nobody).list_namespaced_config_map(namespace)
    assert refused.value.status == 403
    message = status_of(refused.value)["message"]
    assert f"system:serviceaccount:{namespace}:nobody" in message and "forbidden" in message


async def test_identity_with_a_role_is_allowed_what_the_role_grants(
        api: client.ApiClient, cluster: ClusterAccess, namespace: str) -> None:
    core = client.CoreV1Api(api)
    rbac = client.RbacAuthorizationV1Api(api)
    token = await service_account_token(core, namespace, "reader")
    await rbac.create_namespaced_role(namespace, model(client.V1Role, {
        "metadata": {"name": "configmap-reader"},
        "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}]}))
    await rbac.create_namespaced_role_binding(namespace, model(client.V1RoleBinding, {
        "metadata": {"name": "reader-reads-configmaps"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "configmap-reader"},
        "subjects": [{"kind": "ServiceAccount", "name": "reader", "namespace": namespace}]}))

    async with client_for_token(cluster, token) as as_reader:
        reader = client.CoreV1Api(as_reader)

        async def allowed() -> bool:
            # The authorizer sees a new binding through its informer: a moment later.
            try:
                await reader.list_namespaced_config_map(namespace)
            except ApiException as e:
                if e.status == 403:
                    return False
                raise
            return True

        await eventually(allowed, what="the RoleBinding to take effect")
        with pytest.raises(ApiException) as refused:
            await reader.list_namespaced_secret(namespace)
        assert refused.value.status == 403
