"""The OpenAPI 3.1 document of the Comfy API v2 surface we serve (jobs and assets), at /api/v2/openapi.json.

It follows the published Comfy API v2 contract (docs.comfy.org/api-reference/v2, the spec that
Comfy-Org/comfy-api-proxy mirrors) for the jobs and assets operations and their schemas, and marks where
we differ (`x-latentgraph` notes): output downloads under the job as well as under /api/v2/assets, no
`expires_at` deadline (the history is kept by count, assets live as long as their files), content URLs
that do not expire, ComfyUI's validation answer inside `invalid_workflow` details. Our ComfyUI-compatible
API is described at /openapi.json.
"""

from __future__ import annotations

from .routes_info import VERSION


def _nullable(kind: str, **extra) -> dict:
    return {"type": [kind, "null"], **extra}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str) -> dict:
    return _json(_ref("ErrorEnvelope"), description)


_STATUSES = ["queued", "running", "succeeded", "canceling", "canceled", "failed", "expired"]
_TIME = {"type": "string", "format": "date-time"}

SCHEMAS = {
    "JobStatus": {"type": "string", "enum": _STATUSES,
                  "description": "queued -> running -> succeeded | failed; a cancel moves running -> canceling -> "
                                 "canceled (a queued job goes straight to canceled). `expired` is never used here."},
    "Job": {"type": "object", "required": ["id", "status", "created_at", "started_at", "completed_at", "expires_at",
                                           "queue_position", "progress", "outputs", "error", "urls"],
            "properties": {
                "id": {"type": "string", "description": "The prompt id (a UUID): the same job in /queue, /history "
                                                        "and /api/jobs."},
                "status": _ref("JobStatus"), "created_at": _TIME, "started_at": _nullable("string"),
                "completed_at": _nullable("string"),
                "expires_at": _nullable("string", **{"x-latentgraph": "always null: the history keeps the newest "
                                                                      "history_max jobs, with no deadline"}),
                "queue_position": _nullable("integer", description="Jobs ahead of this one (0: runs next)."),
                "progress": {"oneOf": [_ref("Progress"), {"type": "null"}]},
                "outputs": {"type": "array", "items": _ref("Output")},
                "error": {"oneOf": [_ref("JobError"), {"type": "null"}]},
                "metrics": {"type": "object", "additionalProperties": _nullable("integer")},
                "metadata": {"type": "object", "additionalProperties": {"type": "string"},
                             "description": "The labels given at submission."},
                "urls": _ref("JobUrls")}},
    "JobRecord": {"type": "object", "description": "A list item: the job without outputs, urls and progress.",
                  "required": ["id", "status", "created_at"], "properties": {
                      "id": {"type": "string"}, "status": _ref("JobStatus"), "created_at": _TIME,
                      "metadata": {"type": "object"}}},
    "JobList": {"type": "object", "required": ["jobs"], "properties": {
        "jobs": {"type": "array", "items": _ref("JobRecord")},
        "next_cursor": {"type": "string", "description": "Absent on the last page."}}},
    "JobUrls": {"type": "object", "required": ["self", "events", "cancel"], "properties": {
        "self": {"type": "string"}, "events": {"type": "string"}, "cancel": {"type": "string"}}},
    "Progress": {"type": "object", "required": ["value", "nodes_done", "nodes_total"], "properties": {
        "value": {"type": "number", "minimum": 0, "maximum": 1}, "nodes_done": {"type": "integer"},
        "nodes_total": {"type": "integer"}, "current_node": _nullable("string"),
        "current_node_class": _nullable("string"), "step": _nullable("integer"), "steps": _nullable("integer"),
        "message": _nullable("string")}},
    "Output": {"type": "object", "required": ["node_id", "name", "type", "content_type", "size_bytes", "id", "hash",
                                              "url", "url_expires_at"], "properties": {
        "node_id": {"type": "string"}, "name": {"type": "string"},
        "type": {"type": "string", "enum": ["image", "video", "audio", "text", "file", "latent"]},
        "content_type": {"type": "string"}, "size_bytes": _nullable("integer"),
        "id": {"type": "string", "description": "The asset id (GET /api/v2/assets/{id}) while the file is on disk; "
                                                "else a stable id derived from the job and the file."},
        "hash": _nullable("string", description="`blake3:<hex>` of the file; null when it is gone or the blake3 "
                                                "package is missing."),
        "url": {"type": "string", "description": "GET it for the bytes (Range works)."},
        "url_expires_at": {"type": "null"}, "job_id": {"type": "string"}, "subfolder": {"type": "string"},
        "folder_type": {"type": "string", "description": "output, temp or input, as ComfyUI's `type`."}}},
    "JobError": {"type": "object", "required": ["code", "message"], "properties": {
        "code": {"type": "string", "enum": ["node_execution_error", "execution_error", "canceled"]},
        "message": {"type": "string"}, "node_id": _nullable("string"), "class_type": _nullable("string"),
        "traceback": _nullable("string")}},
    "ErrorEnvelope": {"type": "object", "required": ["error"], "properties": {"error": {
        "type": "object", "required": ["code", "message"], "properties": {
            "code": {"type": "string"}, "message": {"type": "string"},
            "details": {"type": ["object", "null"], "description": "For invalid_workflow: ComfyUI's validation "
                                                                   "answer, {error, node_errors}."}}}}},
    "Asset": {"type": "object", "required": ["id", "hash", "size_bytes", "content_type", "created_at", "url",
                                             "url_expires_at"], "properties": {
        "id": {"type": "string", "description": "The same id as in /api/assets."},
        "hash": _nullable("string", description="`blake3:<hex>`; null for model files and without the blake3 "
                                                "package."),
        "size_bytes": {"type": "integer"}, "content_type": {"type": "string",
                                                            "description": "From the file name (ours)."},
        "file_path": _nullable("string", description="An input file by its name in the input folder (what "
                                                    "LoadImage takes); others as output/..., temp/..., "
                                                    "models/<key>/...; null for a reference made by "
                                                    "/api/assets/from-hash (no file of its own)."),
        "created_new": {"type": "boolean", "description": "On create answers: false when the content was known."},
        "created_at": _TIME, "url": {"type": "string", "description": "GET it for the bytes (Range works)."},
        "url_expires_at": {"type": "null", "x-latentgraph": "content URLs do not expire"},
        "expires_at": {"type": "null", "x-latentgraph": "assets live as long as their files"},
        "job_id": {"type": "string", "description": "Only for a job's output: the job that wrote it."}}},
    "StatusEvent": {"type": "object", "required": ["status"], "properties": {
        "status": _ref("JobStatus"), "queue_position": _nullable("integer")}},
    "PreviewEvent": {"type": "object", "required": ["node_id", "content_type", "data_base64"], "properties": {
        "node_id": {"type": "string"}, "content_type": {"type": "string"}, "data_base64": {"type": "string"}}},
}

_JOB_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
_NOT_FOUND = _error("`not_found`")

PATHS = {
    "/api/v2/jobs": {
        "post": {"operationId": "postJobs", "summary": "Submit a workflow for execution",
                 "parameters": [{"name": "Idempotency-Key", "in": "header", "required": False,
                                 "schema": {"type": "string"},
                                 "description": "Same key and body again: the same job (Idempotency-Replayed: true); "
                                                "same key, other body: 422 idempotency_key_reuse. Kept as long as "
                                                "the job is in the history."}],
                 "requestBody": {"required": True, "content": {"application/json": {"schema": {
                     "type": "object", "required": ["workflow"], "properties": {
                         "workflow": {"type": "object", "description": "API-format graph, verbatim."},
                         "extra_data": {"type": "object", "description": "As POST /prompt's (ours)."},
                         "metadata": {"type": "object", "additionalProperties": {"type": "string"},
                                      "description": "Labels for the list's metadata[k]=v filter."}}}}}},
                 "responses": {"201": _json(_ref("Job"), "Job durably queued."),
                               "400": _error("`invalid_request`: not JSON, no workflow object, a wrongly typed "
                                             "field, or a reserved field (webhook_url, inputs)"),
                               "413": _error("body or node count over the limit"),
                               "415": _error("a browser post with a non-JSON content type"),
                               "422": _error("`invalid_workflow` (details: ComfyUI's validation answer), "
                                             "`workflow_format_ui` or `idempotency_key_reuse`"),
                               "429": _error("`queue_full` (Retry-After)"),
                               "503": _error("shutting down, or the queue could not be written")}},
        "get": {"operationId": "listJobs", "summary": "List jobs, newest first",
                "parameters": [{"name": "cursor", "in": "query", "schema": {"type": "string"}},
                               {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                                           "maximum": 100, "default": 20}},
                               {"name": "status", "in": "query", "schema": {"type": "string"},
                                "description": "Comma list of job statuses (ours)."},
                               {"name": "metadata[key]", "in": "query", "schema": {"type": "string"},
                                "description": "Up to 3 label filters; all must match."}],
                "responses": {"200": _json(_ref("JobList"), "One page."),
                              "400": _error("`invalid_request`, `invalid_cursor` or `invalid_metadata_filter`")}},
    },
    "/api/v2/jobs/{id}": {"get": {"operationId": "getJob", "summary": "Job status (the polling workhorse)",
                                  "parameters": [_JOB_ID],
                                  "responses": {"200": _json(_ref("Job"), "The job."), "404": _NOT_FOUND}}},
    "/api/v2/jobs/{id}/events": {"get": {
        "operationId": "getJobEvents", "summary": "Live event stream (SSE)", "parameters": [_JOB_ID],
        "x-sse-events": {"status": _ref("StatusEvent"), "progress": _ref("Progress"), "preview": _ref("PreviewEvent"),
                         "output": _ref("Output")},
        "responses": {"200": {"description": "text/event-stream of event:/data: frames; ends after the terminal "
                                             "status.", "content": {"text/event-stream": {"schema": {"type": "string"}}}},
                      "404": _NOT_FOUND}}},
    "/api/v2/jobs/{id}/cancel": {"post": {
        "operationId": "cancelJob", "summary": "Request cancellation; answers the current job (idempotent).",
        "parameters": [_JOB_ID], "responses": {"200": _json(_ref("Job"), "Current job state."), "404": _NOT_FOUND}}},
    "/api/v2/jobs/{id}/outputs/{output_id}": {"get": {
        "operationId": "getJobOutput", "summary": "An output's bytes (ours; also at /api/v2/assets/{id}/content).",
        "parameters": [_JOB_ID, {"name": "output_id", "in": "path", "required": True, "schema": {"type": "string"}}],
        "responses": {"200": {"description": "The file.", "content": {"application/octet-stream": {}}},
                      "206": {"description": "A range of it."}, "404": _NOT_FOUND}}},
    "/api/v2/assets": {"post": {
        "operationId": "postAssets", "summary": "Upload an asset (single-call multipart) into the input folder",
        "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
            "type": "object", "required": ["file", "content_type", "file_path"], "properties": {
                "file": {"type": "string", "format": "binary"}, "content_type": {"type": "string"},
                "file_path": {"type": "string", "description": "Name (or sub/folder/name) in the input folder."},
                "expected_hash": {"type": "string", "description": "Checked against the server's blake3."},
                "tags": {"type": "array", "items": {"type": "string"}},
                "expires_in": {"type": "integer", "minimum": 60, "maximum": 604800,
                               "x-latentgraph": "checked, then ignored"}}}}}},
        "responses": {"201": _json(_ref("Asset"), "New content stored."),
                      "200": _json(_ref("Asset"), "Content already known (same blake3 hash)."),
                      "409": _error("`hash_mismatch`: nothing stored"), "413": _error("`request_too_large`"),
                      "422": _error("`validation_error`: a missing or bad field, a path outside the input folder "
                                    "or into model folders, not multipart")}}},
    "/api/v2/assets/from-hash": {"post": {
        "operationId": "assetFromHash", "summary": "An asset over content already known, by its blake3 hash",
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["hash"], "properties": {
                "hash": {"type": "string"}, "file_path": {"type": "string"},
                "tags": {"type": "array", "items": {"type": "string"}}, "expires_in": {"type": "integer"}}}}}},
        "responses": {"201": _json(_ref("Asset"), "A copy of the content written at file_path."),
                      "200": _json(_ref("Asset"), "That reference existed already."),
                      "404": _error("`blob_not_found`"), "422": _error("`validation_error`")}}},
    "/api/v2/assets/by-hash/{hash}": {"head": {
        "operationId": "headAssetByHash", "summary": "Is content with this blake3 hash known?",
        "parameters": [{"name": "hash", "in": "path", "required": True, "schema": {"type": "string"}}],
        "responses": {"200": {"description": "Known."}, "404": {"description": "Unknown (or not a blake3 hash)."}}}},
    "/api/v2/assets/{id}": {
        "get": {"operationId": "getAsset", "summary": "Asset metadata", "parameters": [_JOB_ID],
                "responses": {"200": _json(_ref("Asset"), "The asset."), "404": _NOT_FOUND}},
        "delete": {"operationId": "deleteAsset", "summary": "Delete the asset record (the file stays)",
                   "parameters": [_JOB_ID],
                   "responses": {"204": {"description": "Deleted."}, "404": _NOT_FOUND,
                                 "409": _error("`asset_in_use`: a job's output")}}},
    "/api/v2/assets/{id}/content": {"get": {
        "operationId": "getAssetContent", "summary": "The asset's bytes", "parameters": [_JOB_ID],
        "responses": {"200": {"description": "The file.", "content": {"application/octet-stream": {}}},
                      "206": {"description": "A range of it."}, "404": _NOT_FOUND,
                      "416": {"description": "Range not satisfiable."}}}},
    "/api/v2/openapi.json": {"get": {"operationId": "getOpenapiV2", "summary": "This document.",
                                     "responses": {"200": _json({"type": "object"}, "OpenAPI 3.1")}}},
}


def document() -> dict:
    return {"openapi": "3.1.0",
            "info": {"title": "latentgraph: Comfy API v2 (jobs, assets)", "version": VERSION,
                     "description": "The Comfy API v2 jobs operations, served natively on the durable queue, "
                                    "and its assets over the assets index (the same assets as /api/assets)."},
            "paths": PATHS, "components": {"schemas": SCHEMAS}}
