"""Names: everything derives from the namespace, so two stacks never meet."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared.settings import PipelineSettings
from shared.subjects import FILES_COLLECTED, Names


def test_names_derive_from_the_namespace() -> None:
    """Stream, subjects, DLQ and durables all carry the namespace."""
    names = Names("stack-a")
    assert names.stream == "STACK_A_EVENTS"
    assert names.subject(FILES_COLLECTED) == "stack-a.files.collected"
    assert names.dlq("stack-a.files.collected") == "stack-a.dlq.files.collected"
    assert names.durable("processor", FILES_COLLECTED) == "stack-a-processor-files-collected"
    assert names.durable("monitor", ">") == "stack-a-monitor-all"
    assert Names("stack-b").stream != names.stream


@pytest.mark.parametrize("bad", ["Bad", "a.b", "a>", "", "x" * 41])
def test_invalid_namespace_is_refused(bad: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A namespace that could break NATS names is refused at start-up."""
    monkeypatch.setenv("DATABASE_URL", "postgresql://localhost/x")
    monkeypatch.setenv("PIPELINE_NAMESPACE", bad)
    with pytest.raises(ValidationError):
        PipelineSettings()


def test_database_url_has_no_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without DATABASE_URL the settings refuse to load."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    with pytest.raises(ValidationError):
        PipelineSettings()


def test_nats_url_may_list_a_cluster(monkeypatch: pytest.MonkeyPatch) -> None:
    """A comma-separated NATS_URL becomes the list of servers the client tries."""
    monkeypatch.setenv("DATABASE_URL", "postgresql://localhost/x")
    monkeypatch.setenv("NATS_URL", "nats://n1:4222, nats://n2:4222,nats://n3:4222")
    monkeypatch.setenv("NATS_STREAM_REPLICAS", "3")
    settings = PipelineSettings()
    assert settings.nats_servers == ["nats://n1:4222", "nats://n2:4222", "nats://n3:4222"]
    assert settings.nats_stream_replicas == 3
