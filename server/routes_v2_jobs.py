"""Comfy API v2 `Job` objects (and list records) built from the durable queue, the history and
the live state of a running job (routes_v2_live.py).

Status: a queued prompt is `queued` (with `queue_position`, 0 = runs next), the running one
`running` (`canceling` once a cancel was asked), a finished one `succeeded`, `failed` or `canceled`
(ComfyUI's interrupt counts as canceled, as in /api/jobs). Outputs are the history's file outputs
(`images`, `video`, `audio`, ... items with a `filename`), each with a download URL under the job. An
output whose file is on disk is an asset of the assets index (assets_store.py; routes_v2_assets.py serves it
under /api/v2/assets): its `id` is the asset id, its `hash` the file's `blake3:` hash, its `job_id` the job
that wrote it. An output whose file is gone (or with no folders to look in) keeps a stable id derived from
the job and the file name, and no hash.
"""

from __future__ import annotations

import mimetypes
import sqlite3
import uuid
from datetime import datetime, timezone
from typing import Any

from .assets_store import FILE_ROOTS, store_for
from .paths import PathRefusedError
from .routes_files import locate
from .routes_jobs import history_times
from .routes_v2_live import LiveJob, LiveJobs
from .state import ServerState
from .store import CANCELLED, INTERRUPTED, SUCCESS

V2 = "/api/v2"
TERMINAL = ("succeeded", "failed", "canceled")
STATUSES = ("queued", "running", "canceling", "succeeded", "failed", "canceled")
_OUTPUT_NAMESPACE = uuid.UUID("5b0e1a52-61a4-4c8e-9d35-0c3f6f3c2a10")
_KINDS = {"images": "image", "gifs": "video", "video": "video", "videos": "video", "audio": "audio",
          "text": "text", "latents": "latent", "latent": "latent"}


def iso(ms: Any) -> str | None:
    """Milliseconds since the epoch as an RFC 3339 UTC time, or None."""
    if isinstance(ms, bool) or not isinstance(ms, (int, float)):
        return None
    return datetime.fromtimestamp(ms / 1000, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def urls(job_id: str) -> dict:
    base = f"{V2}/jobs/{job_id}"
    return {"self": base, "events": f"{base}/events", "cancel": f"{base}/cancel"}


def status_of_finished(store_status: str | None) -> str:
    if store_status in (CANCELLED, INTERRUPTED):
        return "canceled"
    return "succeeded" if store_status == SUCCESS else "failed"


def file_outputs(job_id: str, outputs: list[tuple[str, dict]], folders) -> list[dict]:
    """v2 `Output`s for the file items of (node_id, ui) pairs; other ui values are not outputs.
    Without `folders` (list records) the file sizes are not looked up."""
    found = []
    for node_id, ui in outputs:
        if not isinstance(ui, dict):
            continue
        for media, items in ui.items():
            if not isinstance(items, list):
                continue
            for item in items:
                if isinstance(item, dict) and isinstance(item.get("filename"), str):
                    found.append(_output(job_id, str(node_id), media, item, folders))
    return found


def _output(job_id: str, node_id: str, media: str, item: dict, folders) -> dict:
    name, subfolder = item["filename"], str(item.get("subfolder") or "")
    file_type = str(item.get("type") or "output")
    output_id = str(uuid.uuid5(_OUTPUT_NAMESPACE, "\0".join((job_id, node_id, media, file_type, subfolder, name))))
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    kind = _KINDS.get(media) or next((k for k in ("image", "video", "audio", "text") if content_type.startswith(k)),
                                     "file")
    size = digest = None
    if folders is not None:
        try:
            path = locate(folders, name, file_type, subfolder)
            size = path.stat().st_size if path.is_file() else None
            if size is not None and file_type in FILE_ROOTS:
                rel_path = f"{subfolder}/{name}" if subfolder else name
                asset, _ = store_for(folders).register_file(file_type, rel_path, job_id=job_id)
                output_id, digest = asset.id, asset.hash
        except (PathRefusedError, OSError, sqlite3.Error):
            pass
    return {"node_id": node_id, "name": name, "type": kind, "content_type": content_type, "size_bytes": size,
            "id": output_id, "hash": digest, "url": f"{V2}/jobs/{job_id}/outputs/{output_id}", "url_expires_at": None,
            "job_id": job_id, "subfolder": subfolder, "folder_type": file_type}


def _job_error(status: str, error: dict | None) -> dict | None:
    if status == "canceled":
        return {"code": "canceled", "message": "The job was canceled.", "node_id": None, "class_type": None,
                "traceback": None}
    if status != "failed":
        return None
    error = error or {}
    traceback = error.get("traceback")
    return {"code": "node_execution_error" if error.get("node_id") else "execution_error",
            "message": str(error.get("exception_message") or "The job failed."),
            "node_id": error.get("node_id"), "class_type": error.get("node_type"),
            "traceback": "".join(traceback) if isinstance(traceback, list) else traceback}


def _base(job_id: str, status: str, extra_data: dict) -> dict:
    return {"id": job_id, "status": status, "created_at": iso(extra_data.get("create_time")), "started_at": None,
            "completed_at": None, "expires_at": None, "queue_position": None, "progress": None, "outputs": [],
            "error": None, "metadata": extra_data.get("v2_metadata") or {}, "urls": urls(job_id)}


def finished_job(job_id: str, entry: dict, store_status: str | None, folders) -> dict:
    _, _, prompt, extra_data, _ = entry["prompt"]
    status = status_of_finished(store_status)
    start, end, error = history_times(entry)
    job = _base(job_id, status, extra_data)
    total = len(prompt) if isinstance(prompt, dict) else 0
    done = total if status == "succeeded" else 0
    job.update(started_at=iso(start), completed_at=iso(end), error=_job_error(status, error),
               outputs=file_outputs(job_id, list((entry.get("outputs") or {}).items()), folders),
               progress={"value": 1.0 if status == "succeeded" else 0.0, "nodes_done": done, "nodes_total": total,
                         "current_node": None, "current_node_class": None, "step": None, "steps": None,
                         "message": None})
    job["metrics"] = _metrics(extra_data.get("create_time"), start, end)
    return job


def queued_job(job_id: str, extra_data: dict, position: int) -> dict:
    job = _base(job_id, "queued", extra_data)
    job["queue_position"] = position
    job["metrics"] = {"queue_ms": None, "execution_ms": None}
    return job


def running_job(job_id: str, extra_data: dict, live: LiveJob | None, canceling: bool, folders) -> dict:
    job = _base(job_id, "canceling" if canceling else "running", extra_data)
    if live is not None:
        job.update(started_at=iso(live.started_ms), progress=live.progress(),
                   outputs=file_outputs(job_id, live.outputs, folders))
    job["metrics"] = _metrics(extra_data.get("create_time"), live.started_ms if live else None, None)
    return job


def _metrics(created: Any, start: Any, end: Any) -> dict:
    def span(a, b):
        ok = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (a, b))
        return int(b - a) if ok else None
    return {"queue_ms": span(created, start), "execution_ms": span(start, end)}


def record(job: dict) -> dict:
    """A list item: the job without its outputs, urls and progress (as the published list answers)."""
    return {k: v for k, v in job.items() if k not in ("outputs", "urls", "progress")}


def find_job(state: ServerState, live: LiveJobs, job_id: str) -> dict | None:
    """The Job for `job_id` from the queue (read first: a job leaves it only once its history is written),
    then the history; None when neither has it."""
    running, pending = state.store.queue()
    for item in running:
        if item.prompt_id == job_id:
            return running_job(job_id, item.extra_data, live.jobs.get(job_id), job_id in live.canceling,
                               state.folders)
    for position, item in enumerate(pending):
        if item.prompt_id == job_id:
            return queued_job(job_id, item.extra_data, position)
    rows = state.store.history_rows(prompt_id=job_id)
    if job_id in rows:
        entry, store_status = rows[job_id]
        return finished_job(job_id, entry, store_status, state.folders)
    return None
