"""What every Ray worker needs: a model client of its own, built from a picklable description,
and the plumbing to ship recoupe objects through Ray Data rows."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from typing import Any

from ..errors import ConfigError
from ..llm.model import Model
from ..models import Usage
from ..settings import Settings

__all__ = [
    "DEFAULT_CHUNK_CHARS",
    "ModelSpec",
    "build_model",
    "close_model",
    "cluster_cpus",
    "stop_embedded_servers",
    "usage_delta",
]

#: How a worker gets its model: :class:`~recoupe.Settings` (an endpoint, or with ``base_url=None``
#: the embedded server, one per node), or a picklable function of no argument returning a
#: :class:`~recoupe.llm.Model` (called once in every worker).
ModelSpec = Settings | Callable[[], Model]

#: Characters of article text per extraction request when the model does not say.
DEFAULT_CHUNK_CHARS = 350
#: The name of the actor that holds a node's embedded server (one per node, found by name).
_SERVER_ACTOR = "recoupe-embedded-server-{node}"
_NAMESPACE = "recoupe"


def check_spec(spec: Any, parameter: str = "model") -> ModelSpec | None:
    if spec is None or isinstance(spec, Settings) or callable(spec):
        return spec  # type: ignore[no-any-return]
    raise ConfigError(
        f"{parameter}: expected recoupe.Settings or a function returning a model, got {type(spec).__name__}"
    )


def chunk_chars_of(spec: ModelSpec | None, model: Model | None, chunk_chars: int | None) -> int:
    """Characters per extraction request: the caller's, else the settings' (as the embedded model
    or an endpoint takes them), else the model's ``target_chars``."""
    if chunk_chars is not None:
        return chunk_chars
    if isinstance(spec, Settings):
        return spec.target_chars
    return int(getattr(model, "target_chars", None) or DEFAULT_CHUNK_CHARS)


class _NodeServer:
    """Holds the embedded llama.cpp server of one node (a Ray actor pinned to the node)."""

    def __init__(self, parallel: int) -> None:
        from ..llm.embedded import embedded_server

        self.server = embedded_server(parallel=parallel)

    def base_url(self) -> str:
        return str(self.server.base_url)


def _node_server_url(settings: Settings) -> str:
    """The endpoint of this node's embedded server, started by the first worker that asks."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    node = ray.get_runtime_context().get_node_id()
    remote: Any = ray.remote(_NodeServer)
    actor = remote.options(
        name=_SERVER_ACTOR.format(node=node),
        namespace=_NAMESPACE,
        get_if_exists=True,
        lifetime="detached",
        num_cpus=0,
        scheduling_strategy=NodeAffinitySchedulingStrategy(node_id=node, soft=False),
    ).remote(max(1, min(settings.concurrency, 4)))
    return str(ray.get(actor.base_url.remote()))


def build_model(spec: ModelSpec | None) -> Model | None:
    """The model of one worker: the factory's, or a client of the settings' endpoint; with the
    embedded model, a client of the node's one embedded server (same model name, same requests,
    same cache keys as in a single process)."""
    if spec is None:
        return None
    if not isinstance(spec, Settings):
        return spec()
    from ..llm import LLM

    if spec.embedded:
        spec = spec.replace(
            base_url=_node_server_url(spec),
            chunk_chars=spec.target_chars,
            extra_body=spec.request_extra_body(),
        )
    return LLM(spec)


def close_model(model: Model | None) -> None:
    close = getattr(model, "close", None)
    if callable(close):
        close()


def usage_delta(after: Usage, before: Usage) -> Usage:
    """What ``after`` counts beyond ``before`` (both of one model)."""
    return after.since(before)


def dumps(value: Any) -> bytes:
    return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)


def loads(data: Any) -> Any:
    return pickle.loads(bytes(data))


def stop_embedded_servers() -> int:
    """Stop the embedded servers this package started on the cluster's nodes (they stay up between
    runs otherwise); returns how many were stopped."""
    import ray

    stopped = 0
    nodes: list[dict[str, Any]] = ray.nodes()  # type: ignore[no-untyped-call]
    for node in nodes:
        try:
            actor = ray.get_actor(_SERVER_ACTOR.format(node=node["NodeID"]), namespace=_NAMESPACE)
        except ValueError:
            continue
        ray.kill(actor)
        stopped += 1
    return stopped


def cluster_cpus() -> int:
    """CPUs of the Ray cluster this process is connected to."""
    import ray

    resources: dict[str, float] = ray.cluster_resources()  # type: ignore[no-untyped-call]
    return max(1, int(resources.get("CPU", 1)))
