"""The check made right before a job's Pod: the job and every job above it alive.

Once the job watch has delivered the job, it answers alone (one ordered stream); while it
lags, it answers "being killed" alone and "alive" comes from the API server."""
from typing import Any

from dlws_contract import resource
from dlws_contract.kube_api import job_path
from dlws_contract.catch_up import still_alive
from dlws_operator.ancestry import Found, check_chain
from dlws_operator.job_view import JobId, JobView, job_view, parent_of

NS = "ns"
KILLED = "2026-11-27T12:00:00Z"


def job(name: str, parent: str | None = None, *, deleting: bool = False, uid: str = "") -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": NS, "uid": uid or f"uid-{name}", "labels": {}}
    if parent:
        meta["labels"][resource.LABEL_PARENT] = parent
        meta["ownerReferences"] = [{"kind": resource.KIND, "name": parent, "uid": f"uid-{parent}"}]
    if deleting:
        meta["deletionTimestamp"] = KILLED
    return {"metadata": meta}


class Api:
    """The API server's objects now, by name; records each GET."""

    def __init__(self, *objects: dict[str, Any]) -> None:
        self.objects = {o["metadata"]["name"]: o for o in objects}
        self.gets: list[str] = []

    async def get(self, path: str) -> dict[str, Any] | None:
        name = path.rsplit("/", 1)[-1]
        assert path == job_path(NS, name)
        self.gets.append(name)
        return self.objects.get(name)


class Index:
    """The job watch, as it has delivered the objects; `caught_up`: whether it has
    delivered the job asked about (else it lags behind the API server)."""

    def __init__(self, *objects: dict[str, Any], caught_up: bool = False) -> None:
        self.views = {o["metadata"]["name"]: job_view(o["metadata"], {}) for o in objects}
        self.caught_up = caught_up

    def view(self, namespace: str, name: str) -> JobView | None:
        return self.views.get(name)

    async def complete(self) -> None:
        pass

    async def delivered(self, namespace: str, name: str, uid: str, timeout: float) -> bool:
        view = self.views.get(name)
        return self.caught_up and view is not None and view.uid == uid


FAMILY = (job("root"), job("mid", "root"), job("leaf", "mid"))


def test_a_job_names_its_parent_with_the_uid_of_its_owner_reference() -> None:
    assert parent_of(job("leaf", "mid")["metadata"]) == JobId("mid", "uid-mid")
    assert parent_of(job("root")["metadata"]) is None
    assert job_view(job("leaf", "mid")["metadata"], {}).parent == JobId("mid", "uid-mid")


def test_alive_means_there_with_its_uid_and_not_being_deleted() -> None:
    assert still_alive("uid-mid", job("mid", "root"))
    assert not still_alive("uid-mid", None)
    assert not still_alive("uid-mid", job("mid", "root", deleting=True))
    assert not still_alive("uid-mid", job("mid", "root", uid="made-again"))
    assert still_alive("", job("mid", "root", uid="made-again"))  # a parent named by label alone


async def test_all_alive_is_asked_of_the_api_server_for_every_job_of_the_chain() -> None:
    api = Api(*FAMILY)
    assert await check_chain(api, Index(*FAMILY), FAMILY[2]["metadata"]) == Found(None, "api")  # type: ignore[arg-type]
    assert sorted(api.gets) == ["leaf", "mid", "root"]


async def test_a_kill_the_index_has_seen_refuses_without_a_call() -> None:
    api = Api(*FAMILY)
    index = Index(job("root", deleting=True), FAMILY[1], FAMILY[2])
    assert await check_chain(api, index, FAMILY[2]["metadata"]) == Found("root", "watch")  # type: ignore[arg-type]
    assert api.gets == []


async def test_a_kill_two_levels_up_the_index_has_not_seen_refuses() -> None:
    api = Api(job("root", deleting=True), *FAMILY[1:])
    assert await check_chain(api, Index(*FAMILY), FAMILY[2]["metadata"]) == Found("root", "api")  # type: ignore[arg-type]


async def test_a_parent_gone_from_the_api_server_refuses() -> None:
    api = Api(FAMILY[0], FAMILY[2])
    assert await check_chain(api, Index(*FAMILY), FAMILY[2]["metadata"]) == Found("mid", "api")  # type: ignore[arg-type]


async def test_a_parent_not_yet_indexed_is_read_to_walk_on() -> None:
    api = Api(*FAMILY)
    found = await check_chain(api, Index(FAMILY[0], FAMILY[2]), FAMILY[2]["metadata"])  # type: ignore[arg-type]
    assert found == Found(None, "api")
    assert api.gets.count("mid") == 2 and api.gets.count("root") == 1  # mid: to walk, then with the rest


async def test_a_parent_made_again_under_its_name_is_not_the_parent() -> None:
    again = job("mid", "root", uid="made-again")
    found = await check_chain(Api(FAMILY[0], again, FAMILY[2]), Index(FAMILY[0], again, FAMILY[2]),  # type: ignore[arg-type]
                              FAMILY[2]["metadata"])
    assert found == Found("mid", "api")


async def test_parent_labels_that_loop_end_the_walk() -> None:
    a, b = job("a", "b"), job("b", "a")
    api = Api(a, b)
    assert await check_chain(api, Index(a, b), a["metadata"]) == Found(None, "api")  # type: ignore[arg-type]
    assert sorted(api.gets) == ["a", "b"]


async def test_a_watch_that_delivered_the_job_answers_alive_without_a_call() -> None:
    api = Api(*FAMILY)
    found = await check_chain(api, Index(*FAMILY, caught_up=True), FAMILY[2]["metadata"])  # type: ignore[arg-type]
    assert found == Found(None, "watch") and api.gets == []


async def test_a_watch_that_delivered_the_job_knows_every_kill_before_it() -> None:
    api = Api(*FAMILY)
    dying = Index(job("root", deleting=True), *FAMILY[1:], caught_up=True)
    assert await check_chain(api, dying, FAMILY[2]["metadata"]) == Found("root", "watch")  # type: ignore[arg-type]
    gone = Index(FAMILY[0], FAMILY[2], caught_up=True)  # mid deleted: no longer in the watch
    assert await check_chain(api, gone, FAMILY[2]["metadata"]) == Found("mid", "watch")  # type: ignore[arg-type]
    again = Index(FAMILY[0], job("mid", "root", uid="made-again"), FAMILY[2], caught_up=True)
    assert await check_chain(api, again, FAMILY[2]["metadata"]) == Found("mid", "watch")  # type: ignore[arg-type]
    assert api.gets == []
