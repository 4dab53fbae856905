"""Another program holding a SQLite database's write lock: ``python hold_lock.py FILE SECONDS``.

Takes the lock with ``BEGIN EXCLUSIVE``, prints ``locked`` once it holds it, keeps it for
SECONDS (or until killed) and then lets it go without writing anything.
"""

from __future__ import annotations

import sqlite3
import sys
import time


def main(path: str, seconds: float) -> None:
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("BEGIN EXCLUSIVE")
        print("locked", flush=True)
        time.sleep(seconds)
        connection.execute("ROLLBACK")
    finally:
        connection.close()


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]))
