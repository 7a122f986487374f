"""What kopf writes on a job whose handlers succeed first time: nothing of its own."""
import kopf

from dlws_operator.kopf_config import MARKER, HandledJobs, ProgressAnnotations

PREFIX = "operator.example.io"


def body(uid: str = "u1", annotations: dict[str, str] | None = None) -> kopf.Body:
    return kopf.Body({"apiVersion": "v1", "kind": "X", "spec": {"a": 1},
                      "metadata": {"name": "j", "uid": uid, "labels": {"l": "v"},
                                   "annotations": annotations or {}}})


def test_a_job_is_new_until_stored_and_then_unchanged() -> None:
    handled = HandledJobs()
    job = body()
    assert handled.fetch(body=job) is None  # kopf: a creation
    patch = kopf.Patch()
    handled.store(body=job, patch=patch, essence=handled.build(body=job))
    assert not patch  # nothing is written to the job
    assert handled.fetch(body=job) == handled.build(body=job)  # kopf: no change
    assert "u1" in handled


def test_forget_drops_a_gone_job() -> None:
    handled = HandledJobs()
    handled.store(body=body(), patch=kopf.Patch(), essence={})
    handled.forget("u1")
    handled.forget("never-seen")  # no error
    assert "u1" not in handled and handled.fetch(body=body()) is None


def record() -> kopf.ProgressRecord:
    return {"started": "2026-01-01T00:00:00", "retries": 1, "success": True}


def test_first_time_success_leaves_an_empty_patch() -> None:
    storage = ProgressAnnotations(prefix=PREFIX)
    job, patch = body(), kopf.Patch()
    storage.store(key="run_job", record=record(), body=job, patch=patch)
    assert f"{PREFIX}/{MARKER}" in patch["metadata"]["annotations"]  # kopf's own behaviour
    storage.purge(key="run_job", body=job, patch=patch)
    assert dict(patch) == {}  # kopf would otherwise PATCH the job with the marker alone


def test_the_marker_stays_with_a_record_being_kept() -> None:
    storage = ProgressAnnotations(prefix=PREFIX)
    job, patch = body(), kopf.Patch()
    storage.store(key="run_job", record=record(), body=job, patch=patch)
    storage.store(key="other", record=record(), body=job, patch=patch)
    storage.purge(key="other", body=job, patch=patch)
    annotations = patch["metadata"]["annotations"]
    assert f"{PREFIX}/{MARKER}" in annotations and f"{PREFIX}/run_job" in annotations


def test_a_record_on_the_job_is_removed_and_the_marker_left_alone() -> None:
    storage = ProgressAnnotations(prefix=PREFIX)
    job = body(annotations={f"{PREFIX}/run_job": "{}", f"{PREFIX}/{MARKER}": "yes"})
    patch = kopf.Patch()
    storage.purge(key="run_job", body=job, patch=patch)
    assert patch["metadata"]["annotations"] == {f"{PREFIX}/run_job": None}


def test_other_annotations_in_the_patch_are_kept() -> None:
    storage = ProgressAnnotations(prefix=PREFIX)
    job, patch = body(), kopf.Patch()
    patch.metadata.annotations["team"] = "a"
    patch.metadata.labels["l"] = "w"
    storage.store(key="run_job", record=record(), body=job, patch=patch)
    storage.purge(key="run_job", body=job, patch=patch)
    assert dict(patch) == {"metadata": {"annotations": {"team": "a"}, "labels": {"l": "w"}}}


def test_no_handler_needs_what_changed() -> None:
    """HandledJobs keeps no essence, so an update or field handler would never run:
    adding one needs kopf's diff base back (kopf_config.configure)."""
    import dlws_operator.main  # noqa: F401  (registers the handlers)
    from kopf._core.intents.causes import Reason  # no public name for the reasons

    registry = kopf.get_default_registry()
    handlers = registry._changing.get_all_handlers()
    assert handlers, "no changing handlers registered: this test would prove nothing"
    for handler in handlers:
        creation = handler.reason == Reason.CREATE
        resumption = handler.reason is None and handler.initial  # how kopf registers on.resume
        assert (creation or resumption) and handler.field is None, handler.id
