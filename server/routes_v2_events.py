"""GET /api/v2/jobs/{id}/events: the Comfy API v2 server-sent event stream of one job.

On connect: a `status` event (status, queue_position), the latest `progress` and the latest
`preview` when the job runs; then `status` on every change (queue position while queued,
running, canceling, the terminal state), `progress` snapshots, `output` for each file output as
it is committed, `preview` (base64, only when the prompt asked for previews). The stream ends
after the terminal `status`, or without it when the client goes away or the server stops
(the client then polls or reconnects). As published: no event ids and no replay; GET /api/v2/jobs/{id}
is the truth. Live events come from routes_v2_live.LiveJobs; the queue position and a
queued job's end are read from the store every `POLL_SECONDS`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json

from aiohttp import web

from .routes_v2_jobs import TERMINAL, file_outputs, find_job
from .routes_v2_live import END, LIVE, LiveJobs
from .state import ServerState, state_of

POLL_SECONDS = 0.25
KEEPALIVE_SECONDS = 15.0
# A job the store calls finished whose end event never came (its runner was lost) is closed after this.
_STALE_POLLS = 8


def _frame(name: str, payload: dict) -> bytes:
    return f"event: {name}\ndata: {json.dumps(payload, separators=(',', ':'), default=str)}\n\n".encode()


class _Stream:
    """One SSE response and the last status it told the client."""

    def __init__(self, request: web.Request, response: web.StreamResponse, state: ServerState, live: LiveJobs,
                 job_id: str) -> None:
        self.request, self.response, self.state, self.live, self.job_id = request, response, state, live, job_id
        self.told: tuple | None = None

    def over(self) -> bool:
        """The client went away, or the server is stopping (the client then polls or reconnects)."""
        transport = self.request.transport
        return transport is None or transport.is_closing() or not self.state.accepting

    async def send(self, name: str, payload: dict) -> None:
        await self.response.write(_frame(name, payload))

    async def status(self, job: dict) -> None:
        told = (job["status"], job["queue_position"])
        if told != self.told:
            self.told = told
            await self.send("status", {"status": job["status"], "queue_position": job["queue_position"]})

    async def live_event(self, name: str, payload: dict) -> None:
        if name == "status":  # running, canceling: transitions the recorder saw, told in order
            await self.status(payload)
        elif name == "output":
            for output in file_outputs(self.job_id, [(payload["node_id"], payload["ui"])], self.state.folders):
                await self.send("output", output)
        else:
            await self.send(name, payload)


async def job_events(request: web.Request) -> web.StreamResponse:
    state, live = state_of(request), request.app[LIVE]
    job_id = request.match_info["id"]
    queue = live.listen(job_id)  # before the snapshot, so nothing falls between the two
    try:
        job = find_job(state, live, job_id)
        if job is None:
            return web.json_response({"error": {"code": "not_found", "message": f"No job with id {job_id[:80]!r} "
                                                "is queued, running or in the history.", "details": None}},
                                     status=404)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache",
                                               "X-Accel-Buffering": "no"})
        await response.prepare(request)
        stream = _Stream(request, response, state, live, job_id)
        with contextlib.suppress(ConnectionResetError, asyncio.CancelledError):
            await _serve(stream, queue, job)
        return response
    finally:
        live.unlisten(job_id, queue)


async def _serve(stream: _Stream, queue: asyncio.Queue, job: dict) -> None:
    await stream.status(job)
    current = stream.live.jobs.get(stream.job_id)
    if current is not None:
        await stream.send("progress", current.progress())
        if current.preview is not None:
            await stream.send("preview", current.preview)
    idle, stale = 0.0, 0
    while job["status"] not in TERMINAL:
        try:
            name, payload = await asyncio.wait_for(queue.get(), POLL_SECONDS)
        except asyncio.TimeoutError:
            if stream.over():
                return
            idle += POLL_SECONDS
            if idle >= KEEPALIVE_SECONDS:
                idle = 0.0
                await stream.response.write(b": keepalive\n\n")
            job = find_job(stream.state, stream.live, stream.job_id) or job
            if job["status"] in TERMINAL and stream.job_id in stream.live.jobs:
                stale += 1  # finished in the store, its end event still on the way: wait for it
                if stale < _STALE_POLLS:
                    job = {**job, "status": "running"}
                    continue
                stream.live.jobs.pop(stream.job_id, None)
            if job["status"] in TERMINAL:
                await _drain(stream, queue)
            else:
                await stream.status(job)
            continue
        idle = 0.0
        if name == END:
            await _drain(stream, queue)
            job = find_job(stream.state, stream.live, stream.job_id) or job
            if job["status"] not in TERMINAL:  # requeued (the server is stopping): keep following
                continue
        else:
            await stream.live_event(name, payload)
    await stream.status(job)


async def _drain(stream: _Stream, queue: asyncio.Queue) -> None:
    """Send what the recorder queued before the end (outputs committed last), then return."""
    while not queue.empty():
        name, payload = queue.get_nowait()
        if name != END:
            await stream.live_event(name, payload)
