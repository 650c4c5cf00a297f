"""GET /node_replacements (ComfyUI v0.46): the node replacements packs registered, by old class name.

The registry is graph.node_replace.NODE_REPLACEMENTS (the process's, filled by packs through
`comfy_api.latest.ComfyAPI().node_replacement.register`), unless the application was given its own
under REPLACEMENTS (tests). routes_prompt applies it to each prompt before validation.
"""

from __future__ import annotations

from aiohttp import web

from graph.node_replace import NODE_REPLACEMENTS, NodeReplaceRegistry

REPLACEMENTS = web.AppKey("latentgraph_node_replacements", NodeReplaceRegistry)


def replacements_of(app: web.Application) -> NodeReplaceRegistry:
    """The replacement registry this application applies."""
    return app.get(REPLACEMENTS, NODE_REPLACEMENTS)


async def get_node_replacements(request: web.Request) -> web.Response:
    """{old class: [{new_node_id, old_node_id, old_widget_ids, input_mapping, output_mapping}, ...]}."""
    return web.json_response(replacements_of(request.app).as_dict())


ROUTES = [("GET", "/node_replacements", get_node_replacements)]
