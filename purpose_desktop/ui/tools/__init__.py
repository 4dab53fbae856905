"""The Tools pane: MCP servers with their state and log, every tool with its schema, and a
test call of one tool."""
