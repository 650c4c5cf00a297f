"""GET /api/jobs and /api/jobs/{job_id}: the queue and history as one list of jobs (the queue
panel of recent ComfyUI editors reads it).

A job is a flat summary: id, status (pending | in_progress | completed | failed | cancelled), priority
(the queue number), create_time, execution start/end times and error from the history
messages, how many outputs there are and one previewable output. Keys whose value is
unknown are left out, as ComfyUI does. A prompt ended by a jobs cancel or by /interrupt is
`cancelled` (store status cancelled or interrupted); restart failures and errors are `failed`.
The cancel routes are in routes_jobs_cancel.py.
"""

from __future__ import annotations

from aiohttp import web

from .state import state_of
from .store import CANCELLED, INTERRUPTED

STATUSES = ("pending", "in_progress", "completed", "failed", "cancelled")
PREVIEWABLE = ("images", "video", "audio")
SORT_KEYS = ("created_at", "execution_duration")


def _without_none(values: dict) -> dict:
    return {k: v for k, v in values.items() if v is not None}


def _workflow_facts(extra_data: dict) -> tuple[int | None, str | None]:
    """(create_time, workflow id from extra_pnginfo.workflow.id)."""
    pnginfo = extra_data.get("extra_pnginfo")
    workflow = pnginfo.get("workflow") if isinstance(pnginfo, dict) else None
    return extra_data.get("create_time"), workflow.get("id") if isinstance(workflow, dict) else None


def queued_job(item: list, status: str) -> dict:
    number, prompt_id, _, extra_data, _ = item
    create_time, workflow_id = _workflow_facts(extra_data)
    return _without_none({"id": prompt_id, "status": status, "priority": number, "create_time": create_time,
                          "outputs_count": 0, "workflow_id": workflow_id})


def output_summary(outputs: dict) -> tuple[int, dict | None]:
    """(number of output items, the first previewable one, preferring type "output")."""
    count, best, fallback = 0, None, None
    for node_id, ui in outputs.items():
        if not isinstance(ui, dict):
            continue
        for media, items in ui.items():
            if media == "animated" or not isinstance(items, list):
                continue
            for item in items:
                if not isinstance(item, dict):
                    continue
                count += 1
                previewable = media in PREVIEWABLE or str(item.get("format", "")).startswith(("video/", "audio/"))
                if previewable and best is None:
                    candidate = {**item, "nodeId": node_id, "mediaType": media}
                    if item.get("type") == "output":
                        best = candidate
                    elif fallback is None:
                        fallback = candidate
    return count, best or fallback


def job_status(entry: dict, store_status: str | None) -> str:
    if store_status in (CANCELLED, INTERRUPTED):
        return "cancelled"
    return "failed" if (entry.get("status") or {}).get("status_str") == "error" else "completed"


def history_times(entry: dict) -> tuple[int | None, int | None, dict | None]:
    """(execution start ms, end ms, the execution_error data) from a history entry's status messages."""
    start = end = error = None
    for message in (entry.get("status") or {}).get("messages", []):
        if not (isinstance(message, list) and len(message) >= 2 and isinstance(message[1], dict)):
            continue
        name, data = message[0], message[1]
        if name == "execution_start":
            start = data.get("timestamp")
        elif name in ("execution_success", "execution_error", "execution_interrupted"):
            end = data.get("timestamp")
            if name == "execution_error":
                error = data
    return start, end, error


def finished_job(prompt_id: str, entry: dict, store_status: str | None = None, *, full: bool = False) -> dict:
    number, _, prompt, extra_data, _ = entry["prompt"]
    create_time, workflow_id = _workflow_facts(extra_data)
    start, end, error = history_times(entry)
    count, preview = output_summary(entry.get("outputs") or {})
    job = _without_none({
        "id": prompt_id, "status": job_status(entry, store_status),
        "priority": number, "create_time": create_time, "execution_start_time": start, "execution_end_time": end,
        "execution_error": error, "outputs_count": count, "preview_output": preview, "workflow_id": workflow_id})
    if full:
        job.update({"outputs": entry.get("outputs") or {}, "execution_status": entry.get("status") or {},
                    "workflow": {"prompt": prompt, "extra_data": extra_data}})
    return job


def _bad(message: str) -> web.Response:
    return web.json_response({"error": message}, status=400)


def _duration(job: dict) -> int:
    start, end = job.get("execution_start_time"), job.get("execution_end_time")
    return end - start if start and end else 0


async def get_jobs(request: web.Request) -> web.Response:
    query = request.query
    wanted = STATUSES
    if query.get("status"):
        wanted = tuple(s.strip() for s in query["status"].split(",") if s.strip())
        unknown = [s for s in wanted if s not in STATUSES]
        if unknown:
            return _bad(f"Invalid status {unknown[0]!r}; use a comma list of {', '.join(STATUSES)}.")
    sort_by = query.get("sort_by", "created_at")
    if sort_by not in SORT_KEYS:
        return _bad(f"sort_by must be one of {', '.join(SORT_KEYS)}.")
    sort_order = query.get("sort_order", "desc")
    if sort_order not in ("asc", "desc"):
        return _bad("sort_order must be asc or desc.")
    try:
        limit = int(query["limit"]) if query.get("limit") else None
        offset = int(query.get("offset") or 0)
    except ValueError:
        return _bad("limit and offset must be whole numbers.")
    if (limit is not None and limit <= 0) or offset < 0:
        return _bad("limit must be positive and offset not negative.")

    store = state_of(request).store
    running, pending = store.queue()
    jobs = []
    if "in_progress" in wanted:
        jobs += [queued_job(item.as_list(), "in_progress") for item in running]
    if "pending" in wanted:
        jobs += [queued_job(item.as_list(), "pending") for item in pending]
    if {"completed", "failed", "cancelled"} & set(wanted):
        jobs += [job for pid, (entry, store_status) in store.history_rows().items()
                 if (job := finished_job(pid, entry, store_status))["status"] in wanted]
    if query.get("workflow_id"):
        jobs = [job for job in jobs if job.get("workflow_id") == query["workflow_id"]]
    key = _duration if sort_by == "execution_duration" else (lambda job: job.get("create_time") or 0)
    jobs.sort(key=key, reverse=sort_order == "desc")
    total = len(jobs)
    page = jobs[offset:] if limit is None else jobs[offset:offset + limit]
    return web.json_response({"jobs": page, "pagination": {"offset": offset, "limit": limit, "total": total,
                                                           "has_more": offset + len(page) < total}})


async def get_job(request: web.Request) -> web.Response:
    store = state_of(request).store
    job_id = request.match_info["job_id"]
    history = store.history_rows(prompt_id=job_id)
    if job_id in history:
        entry, store_status = history[job_id]
        return web.json_response(finished_job(job_id, entry, store_status, full=True))
    running, pending = store.queue()
    for items, status in ((running, "in_progress"), (pending, "pending")):
        for item in items:
            if item.prompt_id == job_id:
                return web.json_response(queued_job(item.as_list(), status))
    return web.json_response({"error": "Job not found"}, status=404)


ROUTES = [("GET", "/jobs", get_jobs), ("GET", "/jobs/{job_id}", get_job)]
