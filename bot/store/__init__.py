"""The SQLite ledger (sqlite-utils): directory, routes, mutes, cursors, outbox, acknowledgements."""

from bot.store.ledger import Delivery, IngestResult, Ledger, Route, StoredAlert

__all__ = ["Delivery", "IngestResult", "Ledger", "Route", "StoredAlert"]
