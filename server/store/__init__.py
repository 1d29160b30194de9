"""Storage: the only package that holds SQL.  ``Database`` owns connections and
transactions; one module per aggregate holds that aggregate's statements."""

from . import accounts, catalog, tickets
from .db import Database
from .migrations import migrate

__all__ = ["Database", "accounts", "catalog", "migrate", "tickets"]
