"""The store layer: the only place that talks to MongoDB (``pymongo.AsyncMongoClient``).

Every query of the project lives in a repository class here (``AgentStore``, ``TokenStore`` …), so a
real MongoDB can be checked against the same contract tests as the embedded one. Repositories take
and return plain dicts whose ``id`` is a string; ObjectIds never leave this package.
"""

from __future__ import annotations

import logging

from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError

from anysupport.store.agents import AgentStore
from anysupport.store.catalog import PhraseStore, SettingsStore, TroubleTypeStore
from anysupport.store.common import StoreError
from anysupport.store.embedded import EmbeddedDatabaseError, EmbeddedMongo
from anysupport.store.records import RecordStore
from anysupport.store.sessions import SessionStore
from anysupport.store.tokens import TokenStore

log = logging.getLogger("anysupport.store")

REPOSITORIES = {
    "agents": AgentStore,
    "tokens": TokenStore,
    "sessions": SessionStore,
    "records": RecordStore,
    "trouble_types": TroubleTypeStore,
    "phrases": PhraseStore,
    "settings": SettingsStore,
}


class Store:
    def __init__(self, client: AsyncMongoClient, db_name: str, embedded: EmbeddedMongo | None = None):
        self.client = client
        self.db = client[db_name]
        self.embedded = embedded
        for name, cls in REPOSITORIES.items():
            setattr(self, name, cls(self.db))

    agents: AgentStore
    tokens: TokenStore
    sessions: SessionStore
    records: RecordStore
    trouble_types: TroubleTypeStore
    phrases: PhraseStore
    settings: SettingsStore

    @classmethod
    async def open(
        cls, *, mongo_uri: str = "", db_name: str = "anysupport", data_dir: str = ".", start_timeout: float = 20.0
    ) -> Store:
        embedded = None
        if not mongo_uri:
            embedded = EmbeddedMongo(data_dir, start_timeout=start_timeout)
            mongo_uri = await embedded.start()
        client = AsyncMongoClient(mongo_uri, tz_aware=True, serverSelectionTimeoutMS=5000, connectTimeoutMS=5000)
        store = cls(client, db_name, embedded)
        try:
            await store.ping()
            await store.ensure_indexes()
        except (PyMongoError, StoreError) as exc:
            await store.close()
            where = "the embedded database" if embedded else mongo_uri.split("@")[-1]
            raise StoreError(f"cannot use the database at {where}: {exc}") from exc
        return store

    async def ping(self) -> None:
        if self.embedded is not None and not self.embedded.alive():
            raise StoreError("the embedded database process has exited")
        await self.client.admin.command("ping")

    async def healthy(self) -> bool:
        try:
            await self.ping()
            return True
        except (PyMongoError, StoreError):
            return False

    async def ensure_indexes(self) -> None:
        for name in REPOSITORIES:
            await getattr(self, name).ensure_indexes()

    async def close(self) -> None:
        try:
            await self.client.close()
        finally:
            if self.embedded is not None:
                await self.embedded.stop()


__all__ = ["Store", "StoreError", "EmbeddedDatabaseError", "PyMongoError"]
