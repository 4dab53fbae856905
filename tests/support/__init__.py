"""Helpers the tests share: scripted teams, stores with runs in them, the CLI and the app as
processes, waiting for Qt, the bundled models' prompts. Test modules import from here, never
from one another."""
