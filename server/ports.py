"""What the server needs from the objects `create_app` is given, and nothing more.

The server never imports nodes/ or app/: it is handed a node library, a runtime (its folders
and its models) and an executor, and reaches them only through these Protocols. The real
implementations are nodes.api.registry.NodeRegistry, folders.layout.Folders,
nodes.api.runtime.NodeRuntime and graph.executor.Executor; tests/server/test_server_ports.py
checks that they keep matching.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from graph.context import InterruptToken
from graph.events import EventSink
from graph.schema import Registry


class NodeLibrary(Registry, Protocol):
    """The node types (`get`, `class_types`, as graph/ needs them) plus what the editor is served."""

    def object_info(self) -> dict[str, dict]:
        """Every node in ComfyUI's /object_info shape."""
        ...

    def object_info_for(self, class_type: str) -> dict[str, dict]:
        """`{class_type: info}` for one node; {} when there is no such node."""
        ...

    def web_directories(self) -> dict[str, Path]:
        """Pack name -> folder served at /extensions/<pack name>/."""
        ...


class FolderLayout(Protocol):
    """The folders the file, user and model routes read."""

    def directory(self, folder_type: str) -> Path:
        """The input, output, temp or user folder by name (KeyError for other names)."""
        ...

    def known_keys(self) -> list[str]:
        """Every model folder key (may include custom_nodes, which the routes never show)."""
        ...

    def model_paths(self, key: str) -> list[Path]:
        """The folders searched for a model key, in order (KeyError for an unknown key)."""
        ...

    def list_files(self, key: str) -> list[str]:
        """Sorted relative posix names of the files of a model key."""
        ...

    def resolve(self, key: str, name: str) -> Path:
        """The file `name` of a model key: ValueError for a name that would leave the folder,
        FileNotFoundError when no folder of the key holds it."""
        ...


class ModelUnloader(Protocol):
    """What /free unloads."""

    def unload_models(self) -> bool:
        """Unload every loaded model; False when nothing was loaded."""
        ...


class ServerRuntime(ModelUnloader, Protocol):
    """The runtime the nodes see (handed on to the executor untouched): the server reads its
    folders and unloads its models."""

    @property
    def folders(self) -> FolderLayout: ...

    def resident_models(self) -> list[dict]:
        """The models on the device (or streaming to it), for /system_stats; [] before any model loaded."""
        ...


class RunOutcome(Protocol):
    """What the worker keeps of one execution for the history entry."""

    @property
    def status(self) -> str:
        """"success", "error" or "interrupted"."""
        ...

    @property
    def outputs(self) -> dict[str, dict]:
        """The ui output of each output node, by node id."""
        ...


class PromptRunner(Protocol):
    """Runs validated prompts, one at a time, on the worker thread; keeps its cache between them."""

    def execute(self, prompt: dict, *, prompt_id: str, outputs: list[str], extra_data: dict | None = None,
                sink: EventSink = ..., interrupt: InterruptToken | None = None) -> RunOutcome:
        """Run what `outputs` need, sending ComfyUI's events to `sink`; never raises for a node's failure."""
        ...

    def preview_plan(self, prompt: dict, outputs: list[str]) -> dict:
        """`{"run": [ids], "cached": [ids]}` without running anything; raises for a prompt it cannot plan."""
        ...

    def reset(self) -> None:
        """Drop every cached output (/free with free_memory)."""
        ...


class RunnerLostError(RuntimeError):
    """The process running a prompt (a remote worker) died under it: the worker failed, not the prompt.
    The worker loop re-queues the prompt once, as after a crash of the server itself."""


class PromptRunnerPool(PromptRunner, Protocol):
    """Several runners that each run one prompt at a time, side by side (`serve --ray`: one per Ray
    worker). Given one as its executor, the server's worker runs one loop per runner; each loop asks
    `take` for the queued prompt its runner should run next. `execute` is not called on the pool;
    `preview_plan` and `reset` are (/plan, /free)."""

    def lane_runners(self) -> list[PromptRunner]:
        """The runners, each with a `worker_id`; called once when the worker starts."""
        ...

    def take(self, runner: PromptRunner, pending: list) -> object | None:
        """Of the pending QueueItems (queue order) the one `runner` should run now, marked as started
        on it; None for none. Called under the store's lock, so two runners never take the same."""
        ...

    def finished(self, runner: PromptRunner) -> None:
        """`runner` ended its prompt (whatever the outcome) and is free."""
        ...

    def replace(self, runner: PromptRunner) -> PromptRunner | None:
        """A fresh runner in place of one whose worker died (None: none could be started)."""
        ...

    def unload_models(self, runner: PromptRunner) -> bool:
        """Unload the models `runner`'s worker holds (/free, between its prompts)."""
        ...

    def describe(self) -> list[dict]:
        """One dict per worker: id, alive, device, resident models, the prompt it runs (/system_stats)."""
        ...
