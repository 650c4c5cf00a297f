"""POST /api/jobs/{job_id}/cancel and POST /api/jobs/cancel {"job_ids": [...]} (ComfyUI after v0.8,
PR #11054): a queued job leaves the queue and a running one is interrupted; both end in the
history (and in /api/jobs) as cancelled.

Answers (ComfyUI's editor only looks at the HTTP status): one job → 200
`{"id", "cancelled": "pending" | "in_progress"}`; 404 `{"error": "Job not found"}` for an id that is
neither queued, running nor in the history; 409 `{"error", "status"}` for a job already finished.
Many jobs → 200 `{"cancelled": [...], "interrupted": [...], "finished": [...], "not_found": [...]}`
(ids in the order given, each in one list); a body without a list of strings → 400.
A running job's history entry is written when the executor notices the interrupt (at the next node
or sampler step), so it can show as in_progress for a moment after the answer.
"""

from __future__ import annotations

from aiohttp import web

from .jsonbody import BodyError, read_json
from .state import ServerState, state_of

_SMALL_BODY = 1 << 20
_MAX_IDS = 10_000


def cancel_ids(state: ServerState, job_ids: list[str]) -> dict[str, list[str]]:
    """Cancel what is queued, interrupt what runs; sort each id into one of the answer's lists."""
    ids = list(dict.fromkeys(job_ids))
    cancelled = state.store.cancel_pending(ids)
    if cancelled:
        state.hub.broadcast_status()
    done = set(cancelled)
    answer: dict[str, list[str]] = {"cancelled": [p for p in ids if p in done], "interrupted": [],
                                    "finished": [], "not_found": []}
    for prompt_id in ids:
        if prompt_id in done:
            continue
        if state.worker.cancel(prompt_id):
            answer["interrupted"].append(prompt_id)
        elif state.store.status_of(prompt_id) is not None:
            answer["finished"].append(prompt_id)
        else:
            answer["not_found"].append(prompt_id)
    return answer


async def post_cancel_job(request: web.Request) -> web.Response:
    state = state_of(request)
    job_id = request.match_info["job_id"]
    answer = cancel_ids(state, [job_id])
    if answer["cancelled"]:
        return web.json_response({"id": job_id, "cancelled": "pending"})
    if answer["interrupted"]:
        return web.json_response({"id": job_id, "cancelled": "in_progress"})
    if answer["finished"]:
        return web.json_response({"error": "Job already finished; there is nothing to cancel.",
                                  "status": state.store.status_of(job_id)}, status=409)
    return web.json_response({"error": "Job not found"}, status=404)


async def post_cancel_jobs(request: web.Request) -> web.Response:
    state = state_of(request)
    try:
        body = await read_json(request, max_bytes=_SMALL_BODY, max_depth=state.config.max_json_depth)
    except BodyError as exc:
        return exc.response()
    ids = body.get("job_ids") if isinstance(body, dict) else None
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        return web.json_response({"error": "The body must be {\"job_ids\": [job id strings]}."}, status=400)
    if len(ids) > _MAX_IDS:
        return web.json_response({"error": f"At most {_MAX_IDS} job ids at once."}, status=400)
    return web.json_response(cancel_ids(state, ids))


# The fixed path first: "/jobs/cancel" must not be read as job "cancel" of "/jobs/{job_id}".
ROUTES = [("POST", "/jobs/cancel", post_cancel_jobs), ("POST", "/jobs/{job_id}/cancel", post_cancel_job)]
