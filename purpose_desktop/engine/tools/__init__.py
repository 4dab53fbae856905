"""Tools agents act with: the tool interface, the built-in tools, MCP servers' tools and the
choice of tools."""
