"""The application layer: what the window and the CLI do with teams, runs and their history,
memory, benchmarks, prices and models.

A front end calls a service and gets plain frozen data back; it never sees a database
connection or SQLAlchemy. Each service runs its blocking work on worker threads (its async
methods never block the event loop) and turns storage failures into :class:`UserError`\\s with
the words a person needs. Nothing here imports Qt.
"""
