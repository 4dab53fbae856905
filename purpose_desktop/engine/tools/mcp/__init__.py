"""MCP servers' tools as engine tools: ``mcp.json`` (config), the client, the adapter (tools).

Nothing here imports the ``mcp`` SDK until a server is started: importing the engine stays
fast, and the headless commands that do not use a server never load it.
"""
