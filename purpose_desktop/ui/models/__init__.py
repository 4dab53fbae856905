"""The Models pane: installed GGUF files, servers, and loading state."""
