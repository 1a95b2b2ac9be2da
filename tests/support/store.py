"""A real database for the managers' direct tests: the embedded nx-27017 started by the store's own
launcher (``EmbeddedMongo``), or the MongoDB of ``ANYSUPPORT_TEST_MONGO_URI``.

One embedded process serves a whole test run; each test gets its own database name, so tests do
not see each other's documents.
"""

from __future__ import annotations

import asyncio
import os
import uuid

from anysupport.config import load_config
from anysupport.store import Store
from anysupport.store.embedded import EmbeddedMongo


class EmbeddedDatabase:
    def __init__(self, data_dir: str):
        self.uri = os.environ.get("ANYSUPPORT_TEST_MONGO_URI", "")
        self.embedded = None if self.uri else EmbeddedMongo(data_dir)

    def start(self) -> EmbeddedDatabase:
        if self.embedded is not None:
            self.uri = asyncio.run(self.embedded.start())
        return self

    def stop(self) -> None:
        if self.embedded is not None:
            asyncio.run(self.embedded.stop())

    async def open_store(self) -> Store:
        return await Store.open(mongo_uri=self.uri, db_name=f"anysupport_unit_{uuid.uuid4().hex[:10]}")


async def close_store(store: Store) -> None:
    await store.client.drop_database(store.db.name)
    await store.close()


def make_config(**settings):
    """The configuration with its defaults and ``settings`` (no file, no environment)."""
    return load_config(environ={}, overrides=settings)
