"""Tools agents act with: the tool interface, the built-in tools and the choice of tools."""
