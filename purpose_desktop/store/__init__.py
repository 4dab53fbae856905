"""Persistence: SQLModel tables on SQLite (or PostgreSQL) and the queries the engine and UI need.

Never imports Qt. Repositories return plain data, never ORM rows tied to a closed session.
"""
