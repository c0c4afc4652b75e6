"""The SQLite ledger (sqlite-utils): directory, routes, mutes, cursors, outbox, acknowledgements."""

from bot.store.ledger import (
    Delivery,
    Destination,
    IngestResult,
    Ledger,
    Mute,
    Release,
    Route,
    StoredAlert,
)

__all__ = [
    "Delivery",
    "Destination",
    "IngestResult",
    "Ledger",
    "Mute",
    "Release",
    "Route",
    "StoredAlert",
]
