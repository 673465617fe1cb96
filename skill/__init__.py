"""specweave-ml's core: storage, tracking, comparison and docs.

All logic lives here as typed functions over the pydantic models in
`skill.schemas.records`; the `specweave` facade, the `sw-ml` CLI and `mcp_server`
only parse, call, format and map `skill.errors`.
"""
