from __future__ import annotations

import os

os.environ.setdefault("MPLCONFIGDIR", os.path.join(os.path.dirname(__file__), "..", ".cache",
                                                   "matplotlib"))

# the workspace's fixtures (store on SQLite and PostgreSQL, API clients)
pytest_plugins = ["workspace_fixtures"]
