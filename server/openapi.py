"""The OpenAPI 3.1 document of the HTTP API, served at /openapi.json.

Every route except /internal/* is also reachable under /api (not repeated here). Schemas
describe the JSON shapes clients rely on; tests check real responses against them.
"""

from __future__ import annotations

from aiohttp import web

from .routes_info import VERSION


def _obj(properties: dict, required: list[str] | None = None, additional: bool | dict = True) -> dict:
    schema = {"type": "object", "properties": properties, "additionalProperties": additional}
    if required:
        schema["required"] = required
    return schema


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict, description: str = "OK") -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_STR_LIST = {"type": "array", "items": {"type": "string"}}
_STR_OR_NULL = {"oneOf": [{"type": "string"}, {"type": "null"}]}
_EMPTY_OK = {"description": "OK (empty body)"}
_BAD = _json(_ref("ErrorBody"), "Bad request")

SCHEMAS = {
    "Error": _obj({"type": {"type": "string"}, "message": {"type": "string"}, "details": {"type": "string"},
                   "extra_info": {"type": "object"}}, ["type", "message"]),
    "ErrorBody": _obj({"error": _ref("Error"), "node_errors": {"type": "object"}}, ["error"]),
    "QueueItem": {"type": "array", "minItems": 5, "maxItems": 5,
                  "prefixItems": [{"type": "number"}, {"type": "string"}, {"type": "object"}, {"type": "object"},
                                  {"type": "array"}]},
    "HistoryEntry": _obj({"prompt": _ref("QueueItem"), "outputs": {"type": "object"},
                          "status": _obj({"status_str": {"type": "string", "enum": ["success", "error"]},
                                          "completed": {"type": "boolean"}, "messages": {"type": "array"}},
                                         ["status_str", "completed", "messages"]),
                          "meta": {"type": "object"}}, ["prompt", "outputs", "status", "meta"]),
    "History": {"type": "object", "additionalProperties": _ref("HistoryEntry")},
    "ExecInfo": _obj({"exec_info": _obj({"queue_remaining": {"type": "integer"}}, ["queue_remaining"])},
                     ["exec_info"]),
    "PromptAccepted": _obj({"prompt_id": {"type": "string"}, "number": {"type": "number"},
                            "node_errors": {"type": "object"}}, ["prompt_id", "number", "node_errors"]),
    "Queue": _obj({"queue_running": {"type": "array", "items": _ref("QueueItem")},
                   "queue_pending": {"type": "array", "items": _ref("QueueItem")}},
                  ["queue_running", "queue_pending"]),
    "SystemStats": _obj({"system": _obj({"os": {"type": "string"}, "ram_total": {"type": "integer"},
                                         "ram_free": {"type": "integer"}, "python_version": {"type": "string"},
                                         "pytorch_version": {"type": "string"}, "argv": _STR_LIST},
                                        ["os", "ram_total", "ram_free", "python_version", "pytorch_version"]),
                         "devices": {"type": "array", "items": _obj({"name": {"type": "string"},
                                                                     "type": {"type": "string"}}, ["name", "type"])},
                         "models": {"type": "array", "items": _obj({
                             "model": {"type": "string"}, "family": {"type": ["string", "null"]},
                             "bytes": {"type": "integer"}, "placement": {"enum": ["device", "streamed", "disk"]}},
                             ["model", "bytes", "placement"])},
                         "queue_database": _obj({"status": {"enum": ["ok", "repaired", "found_empty"]},
                                                 "message": {"type": "string"},
                                                 "damaged_file": {"type": ["string", "null"]},
                                                 "kept_paused": {"type": "boolean"}}, ["status"])},
                        ["system", "devices"]),
    "Features": _obj({"supports_preview_metadata": {"type": "boolean"}, "max_upload_size": {"type": "integer"}},
                     ["supports_preview_metadata", "max_upload_size"]),
    "Upload": _obj({"name": {"type": "string"}, "subfolder": {"type": "string"}, "type": {"type": "string"},
                    "asset": _obj({"id": {"type": "string"}, "name": {"type": "string"}, "asset_hash": _STR_OR_NULL,
                                   "size": {"type": "integer"}, "mime_type": _STR_OR_NULL, "tags": _STR_LIST},
                                  ["id", "name", "asset_hash", "size", "tags"])},
                   ["name", "subfolder", "type"]),
    "Asset": _obj({"id": {"type": "string"}, "name": {"type": "string"}, "hash": {"type": "string"},
                   "asset_hash": {"type": "string"}, "loader_path": {"type": "string"},
                   "display_name": {"type": "string"}, "size": {"type": "integer"}, "mime_type": {"type": "string"},
                   "tags": _STR_LIST, "preview_url": {"type": "string"}, "user_metadata": {"type": "object"},
                   "job_id": {"type": "string"}, "prompt_id": {"type": "string"}, "created_at": {"type": "string"},
                   "updated_at": {"type": "string"}, "last_access_time": {"type": "string"},
                   "created_new": {"type": "boolean"}, "preview_id": {"type": "string"},
                   "metadata": {"type": "object"}},
                  ["id", "name", "size", "tags", "user_metadata", "created_at", "updated_at"]),
    "AssetsList": _obj({"assets": {"type": "array", "items": _ref("Asset")}, "total": {"type": "integer"},
                        "has_more": {"type": "boolean"}, "next_cursor": {"type": "string"}},
                       ["assets", "total", "has_more"]),
    "AssetError": _obj({"error": _obj({"code": {"type": "string"}, "message": {"type": "string"},
                                       "details": {"type": "object"}}, ["code", "message", "details"])}, ["error"]),
    "TagsChange": _obj({"added": _STR_LIST, "already_present": _STR_LIST, "removed": _STR_LIST,
                        "not_present": _STR_LIST, "protected": _STR_LIST, "total_tags": _STR_LIST}, ["total_tags"]),
    "Job": _obj({"id": {"type": "string"}, "status": {"type": "string",
                                                      "enum": ["pending", "in_progress", "completed", "failed",
                                                               "cancelled"]},
                 "priority": {"type": "number"}, "create_time": {"type": "integer"},
                 "outputs_count": {"type": "integer"}}, ["id", "status", "priority"]),
    "Jobs": _obj({"jobs": {"type": "array", "items": _ref("Job")},
                  "pagination": _obj({"offset": {"type": "integer"}, "total": {"type": "integer"},
                                      "has_more": {"type": "boolean"}}, ["offset", "limit", "total", "has_more"])},
                 ["jobs", "pagination"]),
    "Plan": _obj({"run": _STR_LIST, "cached": _STR_LIST}, ["run", "cached"]),
    "Packs": _obj({"packs": {"type": "array", "items": _obj(
        {"name": {"type": "string"}, "path": {"type": "string"},
         "status": {"enum": ["loaded", "loaded_with_problems", "failed"]}, "nodes": _STR_LIST,
         "problems": _STR_LIST, "error": _STR_OR_NULL, "traceback": _STR_OR_NULL, "web_directory": _STR_OR_NULL},
        ["name", "path", "status", "nodes", "problems", "error"])}}, ["packs"]),
    "Users": _obj({"storage": {"type": "string"}, "migrated": {"type": "boolean"}}, ["storage"]),
    "ObjectInfo": {"type": "object", "additionalProperties": _obj(
        {"input": {"type": "object"}, "output": {"type": "array"}, "name": {"type": "string"},
         "category": {"type": "string"}, "output_node": {"type": "boolean"}},
        ["input", "output", "name", "category", "output_node"])},
}


def _op(summary: str, responses: dict, **extra) -> dict:
    return {"summary": summary, "responses": responses, **extra}


_ASSET_BAD = _json(_ref("AssetError"), "bad query, body, tag or name")
_ASSET_404 = _json(_ref("AssetError"), "no asset has this id")
_TAGS_BODY = {"required": True, "content": {"application/json": {"schema": _obj({"tags": _STR_LIST}, ["tags"])}}}
_SEED_PROGRESS = _obj({"scanned": {"type": "integer"}, "total": {"type": "integer"}, "created": {"type": "integer"},
                       "skipped": {"type": "integer"}}, ["scanned", "total", "created", "skipped"])
_SEED_STATUS = _obj({"state": {"enum": ["IDLE", "RUNNING", "CANCELLING"]},
                     "progress": {"oneOf": [_SEED_PROGRESS, {"type": "null"}]}, "errors": _STR_LIST},
                    ["state", "progress", "errors"])
_STATUS_ONLY = _obj({"status": {"type": "string"}}, ["status"])
_PRUNED = _obj({"status": {"enum": ["completed", "scan_running"]}, "marked": {"type": "integer"}}, ["status", "marked"])
_FROM_HASH_BODY = {"required": True, "content": {"application/json": {"schema": _obj(
    {"hash": {"type": "string"}, "name": {"type": "string"}, "tags": _STR_LIST, "user_metadata": {"type": "object"},
     "mime_type": {"type": "string"}, "preview_id": {"type": "string"}}, ["hash"])}}}
# Served only under /api (server/routes_assets.py), as ComfyUI v0.46 does.
ASSET_PATHS = {
    "/api/assets": {
        "get": _op("Assets of input/output/temp and the model folders (include_tags, exclude_tags, name_contains, "
                   "metadata_filter, limit 1-500, offset, sort, order, after: a next_cursor). The answer has "
                   "next_cursor when a next page exists (not for sort=last_access_time); has_more is "
                   "next_cursor != null with after, offset + page < total without. 400 INVALID_QUERY, "
                   "INVALID_CURSOR.", {
                       "200": _json(_ref("AssetsList")), "400": _ASSET_BAD}),
        "post": _op("Upload a file (multipart: file, tags with input or output first, name, user_metadata, hash); "
                    "without a file, a known hash makes a new reference to that content (201).", {
            "201": _json(_ref("Asset"), "created"), "200": _json(_ref("Asset"), "the same file was already there"),
            "400": _ASSET_BAD, "413": _ASSET_BAD})},
    "/api/assets/{id}": {
        "get": _op("One asset.", {"200": _json(_ref("Asset")), "404": _ASSET_404}),
        "put": _op("Rename an asset, replace its user_metadata or set its preview_id (another asset's id).", {
            "200": _json(_ref("Asset")), "400": _ASSET_BAD, "404": _ASSET_404}),
        "delete": _op("Forget an asset (its file stays).", {"204": {"description": "deleted"}, "404": _ASSET_404})},
    "/api/assets/{id}/content": {"get": _op("The asset's file (?disposition=inline|attachment).", {
        "200": {"description": "file bytes"}, "404": _ASSET_404})},
    "/api/assets/{id}/tags": {
        "post": _op("Add tags.", {"200": _json(_ref("TagsChange")), "400": _ASSET_BAD, "404": _ASSET_404},
                    requestBody=_TAGS_BODY),
        "delete": _op("Remove tags (folder tags are protected).", {
            "200": _json(_ref("TagsChange")), "400": _ASSET_BAD, "404": _ASSET_404}, requestBody=_TAGS_BODY)},
    "/api/assets/hash/{hash}": {"head": _op("Whether an asset has this blake3 content hash.", {
        "200": {"description": "known"}, "400": {"description": "malformed hash"}, "404": {"description": "unknown"}})},
    "/api/assets/from-hash": {"post": _op(
        "A new reference (own id, name, tags, user_metadata) to content the index knows by its blake3 hash.", {
            "201": _json(_ref("Asset"), "created"), "400": _ASSET_BAD,
            "404": _json(_ref("AssetError"), "no content has this hash")}, requestBody=_FROM_HASH_BODY)},
    "/api/assets/seed": {"post": _op(
        "Scan roots ({\"roots\": [models, input, output]}, default all) in the background; ?wait=true waits.", {
            "202": _json(_STATUS_ONLY, "started"), "409": _json(_STATUS_ONLY, "a scan is already running"),
            "200": _json(_obj({"status": {"type": "string"}, "progress": _SEED_PROGRESS, "errors": _STR_LIST},
                              ["status", "progress", "errors"]), "completed (with wait)"),
            "400": _ASSET_BAD})},
    "/api/assets/seed/status": {"get": _op("The running or last scan.", {"200": _json(_SEED_STATUS)})},
    "/api/assets/seed/cancel": {"post": _op("Stop the running scan.", {"200": _json(_STATUS_ONLY,
                                                                                   "cancelling or idle")})},
    "/api/assets/prune": {"post": _op("Mark missing (hide) the assets whose files are no longer on disk.", {
        "200": _json(_PRUNED), "409": _json(_PRUNED, "a scan is running")})},
    "/api/assets/tags/refine": {"get": _op(
        "Tag counts over the assets the listing's filters match (include_tags, exclude_tags, name_contains, "
        "metadata_filter, limit 1-1000).", {
            "200": _json(_obj({"tag_counts": {"type": "object", "additionalProperties": {"type": "integer"}}},
                              ["tag_counts"])), "400": _ASSET_BAD})},
    "/api/tags": {"get": _op("Tags with the number of assets carrying each (prefix, order, limit, offset).", {
        "200": _json(_obj({"tags": {"type": "array"}, "total": {"type": "integer"},
                           "has_more": {"type": "boolean"}}, ["tags", "total", "has_more"])), "400": _ASSET_BAD})},
}


PATHS = {
    "/prompt": {
        "post": _op("Validate a prompt and commit it to the durable queue.", {
            "200": _json(_ref("PromptAccepted")), "400": _BAD,
            "409": _json(_ref("ErrorBody"), "prompt_id already queued or in the history by a different body "
                         "(the same body again answers 200 with the first answer)"),
            "413": _json(_ref("ErrorBody"), "body or node count over the limit"),
            "415": _json(_ref("ErrorBody"), "browser post with a non-JSON content type"),
            "429": _json(_ref("ErrorBody"), "queue full"),
            "503": _json(_ref("ErrorBody"), "shutting down, or the queue could not be written")}),
        "get": _op("Number of queued and running prompts.", {"200": _json(_ref("ExecInfo"))}),
    },
    "/node_replacements": {"get": _op("The registered node replacements: old class type -> [{new_node_id, old_node_id, "
                                      "input_mapping, output_mapping}], as ComfyUI v0.46 lists them.", {
        "200": _json({"type": "object", "additionalProperties": {"type": "array"}})})},
    "/plan": {"post": _op("Which nodes a run of the prompt would execute and which are cached (nothing is queued).",
                          {"200": _json(_ref("Plan")), "400": _BAD})},
    "/queue": {"get": _op("Running and pending prompts.", {"200": _json(_ref("Queue"))}),
               "post": _op("Clear or delete pending prompts.", {"200": _EMPTY_OK, "400": _BAD})},
    "/interrupt": {"post": _op("Interrupt the running prompt (optionally only prompt_id).", {"200": _EMPTY_OK})},
    "/free": {"post": _op("Unload models / drop caches between prompts.", {"200": _EMPTY_OK, "400": _BAD})},
    "/history": {"get": _op("History, oldest first.", {"200": _json(_ref("History")), "400": _BAD}),
                 "post": _op("Clear or delete history entries.", {"200": _EMPTY_OK, "400": _BAD})},
    "/history/{prompt_id}": {"get": _op("One history entry, or {}.", {"200": _json(_ref("History"))})},
    "/view": {"get": _op("A file from output/input/temp; `filename=blake3:<hex>` names an asset by content hash.", {
        "200": {"description": "file bytes"}, "400": _BAD, "403": _BAD, "404": _BAD})},
    "/upload/image": {"post": _op("Upload an image (multipart).", {
        "200": _json(_ref("Upload")), "400": _BAD, "403": _BAD, "413": _BAD, "507": _BAD})},
    "/upload/mask": {"post": _op("Upload a mask onto an existing image (multipart).", {
        "200": _json(_ref("Upload")), "400": _BAD, "403": _BAD, "404": _BAD})},
    "/object_info": {"get": _op("Every node type.", {"200": _json(_ref("ObjectInfo"))})},
    "/object_info/{node_class}": {"get": _op("One node type, or {}.", {"200": _json(_ref("ObjectInfo"))})},
    "/system_stats": {"get": _op("System and device facts.", {"200": _json(_ref("SystemStats"))})},
    "/embeddings": {"get": _op("Embedding names without extension.", {"200": _json(_STR_LIST)})},
    "/models": {"get": _op("Model folder keys.", {"200": _json(_STR_LIST)})},
    "/models/{folder}": {"get": _op("Files of one model folder.", {"200": _json(_STR_LIST), "404": _BAD})},
    "/extensions": {"get": _op("Editor extension script URLs.", {"200": _json(_STR_LIST)})},
    "/features": {"get": _op("Server feature flags.", {"200": _json(_ref("Features"))})},
    "/users": {"get": _op("Single-user storage info.", {"200": _json(_ref("Users"))})},
    "/settings": {"get": _op("Editor settings.", {"200": _json({"type": "object"})}),
                  "post": _op("Merge editor settings.", {"200": _EMPTY_OK, "400": _BAD})},
    "/settings/{setting_id}": {"get": _op("One setting or null.", {"200": {"description": "JSON value"}}),
                               "post": _op("Store one setting.", {"200": _EMPTY_OK, "400": _BAD})},
    "/jobs": {"get": _op("Queue and history as jobs (status, workflow_id, sort_by, sort_order, limit, offset).",
                         {"200": _json(_ref("Jobs")), "400": _json(_obj({"error": {"type": "string"}}, ["error"]))})},
    "/jobs/{job_id}": {"get": _op("One job.", {"200": _json(_ref("Job")),
                                              "404": _json(_obj({"error": {"type": "string"}}, ["error"]))})},
    "/jobs/{job_id}/cancel": {"post": _op(
        "Cancel a job: a queued one leaves the queue, a running one is interrupted; both end as cancelled.", {
            "200": _json(_obj({"id": {"type": "string"}, "cancelled": {"enum": ["pending", "in_progress"]}},
                              ["id", "cancelled"])),
            "404": _json(_obj({"error": {"type": "string"}}, ["error"]), "unknown job"),
            "409": _json(_obj({"error": {"type": "string"}, "status": {"type": "string"}}, ["error"]),
                         "already finished")})},
    "/jobs/cancel": {"post": _op(
        "Cancel many jobs ({\"job_ids\": [...]}); each id is sorted into one list.", {
            "200": _json(_obj({key: _STR_LIST for key in ("cancelled", "interrupted", "finished", "not_found")},
                              ["cancelled", "interrupted", "finished", "not_found"])),
            "400": _json(_obj({"error": {"type": "string"}}, ["error"]))},
        requestBody={"required": True, "content": {"application/json": {"schema": _obj(
            {"job_ids": _STR_LIST}, ["job_ids"])}}})},
    "/userdata": {"get": _op("Files of a user folder (dir, recurse, full_info, split).",
                             {"200": _json({"type": "array"}), "400": {"description": "no dir"},
                              "403": {"description": "outside"}, "404": {"description": "missing"}})},
    "/v2/userdata": {"get": _op("One level of the user folder (path).", {"200": _json({"type": "array"})})},
    "/userdata/{file}": {
        "get": _op("A user file (URL-encoded path).", {"200": {"description": "file bytes"}}),
        "post": _op("Write a user file from the raw body (overwrite, full_info).",
                    {"200": _json({}), "409": {"description": "exists"}}),
        "delete": _op("Delete a user file.", {"204": {"description": "deleted"}})},
    "/userdata/{file}/move/{dest}": {"post": _op("Move a user file.", {"200": _json({})})},
    "/i18n": {"get": _op("Custom node translations (none).", {"200": _json({"type": "object"})})},
    "/workflow_templates": {"get": _op("Custom node workflow templates (none).", {"200": _json({"type": "object"})})},
    "/templates/index.json": {"get": _op("Workflow templates index: the UI workflows of workflows/.",
                                         {"200": _json({"type": "array"})})},
    "/templates/index_logo.json": {"get": _op("Template logos (none).", {"200": _json({"type": "object"})})},
    "/templates/{name}.json": {"get": _op("One template's UI workflow.", {
        "200": _json({"type": "object"}), "404": _json(_obj({"error": {"type": "string"}}, ["error"]))})},
    "/global_subgraphs": {"get": _op("Subgraph blueprints of custom node packs (<pack>/subgraphs/*.json), "
                                     "without their text.", {"200": _json({"type": "object"})})},
    "/global_subgraphs/{subgraph_id}": {"get": _op("One blueprint, its file as the string `data`.", {
        "200": _json(_obj({"source": {"type": "string"}, "name": {"type": "string"}, "info": {"type": "object"},
                           "data": {"type": "string"}}, ["source", "name", "info", "data"])),
        "404": _json(_obj({"error": {"type": "string"}}, ["error"]))})},
    "/experiment/models": {"get": _op("Model folders for the model browser.", {"200": _json({"type": "array"})})},
    "/experiment/models/{folder}": {"get": _op("Files of one model folder for the model browser.",
                                               {"200": _json({"type": "array"}), "404": {"description": "unknown"}})},
    "/view_metadata/{folder_name}": {"get": _op(
        "The __metadata__ of a .safetensors model file (?filename=, relative to the model folder).", {
            "200": _json({"type": "object", "additionalProperties": True}), "400": _BAD, "403": _BAD,
            "404": _json(_ref("ErrorBody"), "unknown folder, not .safetensors, no such file, or no metadata"),
            "422": _json(_ref("ErrorBody"), "the file's header cannot be read")})},
    "/internal/files/{directory_type}": {"get": _op(
        "Top-level non-hidden file names of output, input or temp, newest first (not under /api).", {
            "200": _json(_STR_LIST), "400": _BAD})},
    "/internal/folder_paths": {"get": _op("The search paths of every model folder key (not under /api).", {
        "200": _json({"type": "object", "additionalProperties": _STR_LIST})})},
    "/internal/logs": {"get": _op("The server's recent console output as one string (not under /api).", {
        "200": _json({"type": "string"})})},
    "/internal/logs/raw": {"get": _op("Recent console writes and the terminal size (not under /api).", {
        "200": _json({"type": "object", "required": ["entries", "size"], "properties": {
            "entries": {"type": "array", "items": {"type": "object", "required": ["t", "m"], "properties": {
                "t": {"type": "string"}, "m": {"type": "string"}}}},
            "size": {"type": "object", "properties": {"cols": {"type": "integer"}, "rows": {"type": "integer"}}}}})})},
    "/internal/logs/subscribe": {"patch": _op(
        "Start or stop WS `logs` events for a client (not under /api).", {
            "200": {"description": "done"}, "400": _BAD, "413": _BAD, "415": _BAD,
            "429": _json(_ref("ErrorBody"), "too many subscribed clients")},
        requestBody={"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["clientId", "enabled"],
            "properties": {"clientId": {"type": "string"}, "enabled": {"type": "boolean"}}}}}})},
    "/packs": {"get": _op("Every custom node pack found at start: loaded, loaded_with_problems (some nodes refused, "
                          "see problems) or failed (error, traceback).", {"200": _json(_ref("Packs"))})},
    "/ws": {"get": _op("WebSocket of execution events (?clientId=).", {"101": {"description": "upgrade"}})},
    "/openapi.json": {"get": _op("This document.", {"200": _json({"type": "object"})})},
    **ASSET_PATHS,
}


def document() -> dict:
    return {"openapi": "3.1.0",
            "info": {"title": "latentgraph", "version": VERSION,
                     "description": "ComfyUI-compatible API. Every path except /internal/* is also served "
                                    "under /api. The Comfy API v2 jobs surface (/api/v2/jobs...) has its own "
                                    "document at /api/v2/openapi.json."},
            "paths": PATHS, "components": {"schemas": SCHEMAS}}


async def get_openapi(request: web.Request) -> web.Response:
    return web.json_response(document())


ROUTES = [("GET", "/openapi.json", get_openapi)]
