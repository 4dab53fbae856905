"""The agent orchestrator: pure asyncio, no Qt. The GUI and the CLI both drive it."""
