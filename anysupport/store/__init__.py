"""The store layer: the only place that talks to MongoDB (``pymongo.AsyncMongoClient``).

Every query of the project lives in a repository class here (``AgentStore``, ``TokenStore`` …), so a
real MongoDB can be checked against the same contract tests as the embedded one. Repositories take
and return plain dicts whose ``id`` is a string; ObjectIds never leave this package.

Repositories reach the database through ``guard.GuardedDatabase``: while the database is known to be
down every call raises ``DatabaseUnavailable`` at once, and the driver's connection failures become
``DatabaseUnavailable`` too. ``Store.supervise`` (run by the server) restarts a dead embedded
database as ``RestartPolicy`` allows, and marks an unreachable real MongoDB up again when it answers.
"""

from __future__ import annotations

import asyncio
import logging

import pymongo
from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError

from anysupport.errors import DatabaseUnavailable
from anysupport.store.agents import AgentStore
from anysupport.store.catalog import PhraseStore, SettingsStore, TroubleTypeStore
from anysupport.store.cluster import ClusterStore
from anysupport.store.common import StoreError
from anysupport.store.embedded import DataDirInUse, EmbeddedDatabaseError, EmbeddedMongo, RestartPolicy
from anysupport.store.guard import Availability, GuardedDatabase, is_connection_failure
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
    "cluster": ClusterStore,
}


CLIENT_OPTIONS = {"tz_aware": True, "serverSelectionTimeoutMS": 5000, "connectTimeoutMS": 5000}
PING_TIMEOUT = 2.0  # seconds a health check or a recovery probe waits for the database


class DatabaseLost(EmbeddedDatabaseError):
    """The embedded database died and could not be restarted; the server must stop."""


class Store:
    def __init__(self, client: AsyncMongoClient, db_name: str, embedded: EmbeddedMongo | None = None):
        self.client = client
        self.db_name = db_name
        self.db = client[db_name]
        self.embedded = embedded
        self.availability = Availability()
        self.restarts = 0  # embedded database restarts that succeeded
        guarded = GuardedDatabase(self.availability, lambda: self.db)
        for name, cls in REPOSITORIES.items():
            setattr(self, name, cls(guarded))

    agents: AgentStore
    tokens: TokenStore
    sessions: SessionStore
    records: RecordStore
    trouble_types: TroubleTypeStore
    phrases: PhraseStore
    settings: SettingsStore
    cluster: ClusterStore

    @classmethod
    async def open(
        cls, *, mongo_uri: str = "", db_name: str = "anysupport", data_dir: str = ".", start_timeout: float = 20.0
    ) -> Store:
        embedded = None
        if not mongo_uri:
            embedded = EmbeddedMongo(data_dir, start_timeout=start_timeout)
            mongo_uri = await embedded.start()
        client = AsyncMongoClient(mongo_uri, **CLIENT_OPTIONS)
        store = cls(client, db_name, embedded)
        try:
            await store.ping()
            await store.ensure_indexes()
        except (PyMongoError, StoreError, DatabaseUnavailable) as exc:
            await store.close()
            where = "the embedded database" if embedded else mongo_uri.split("@")[-1]
            raise StoreError(f"cannot use the database at {where}: {exc}") from exc
        return store

    # -- availability -------------------------------------------------------------------------------
    @property
    def available(self) -> bool:
        """False while the database is known to be down (requests are answered 503 at once)."""
        return self.availability.available

    def translate(self, exc: BaseException) -> DatabaseUnavailable | None:
        """``DatabaseUnavailable`` when ``exc`` means the database is unreachable (it is then marked down)."""
        return self.availability.translate(exc)

    async def wait_available(self) -> None:
        await self.availability.wait_available()

    async def ping(self, timeout: float = PING_TIMEOUT) -> None:
        """Answer or raise ``DatabaseUnavailable`` within ``timeout`` seconds."""
        if self.embedded is not None and not self.embedded.alive():
            self.availability.mark_down(f"the embedded database exited with code {self.embedded.returncode}")
        self.availability.check()
        await self._probe(timeout)

    async def _probe(self, timeout: float = PING_TIMEOUT) -> None:
        try:
            with pymongo.timeout(timeout):
                await self.client.admin.command("ping")
        except PyMongoError as exc:
            error = self.translate(exc)
            if error is None:
                raise
            raise error from exc

    async def _probe_until_it_answers(self, timeout: float) -> None:
        """Ping until the database answers: the first commands after a restart may still meet the
        driver's pooled connections to the dead process (each fails at once, and is dropped)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            try:
                await self._probe(PING_TIMEOUT)
                return
            except DatabaseUnavailable:
                if asyncio.get_running_loop().time() >= deadline or not self.embedded.alive():
                    raise
            await asyncio.sleep(0.05)

    async def healthy(self) -> bool:
        try:
            await self.ping()
            return True
        except (PyMongoError, DatabaseUnavailable):
            return False

    async def supervise(self, *, interval: float = 0.2, policy: RestartPolicy | None = None) -> None:
        """Watch the database until cancelled. A dead embedded database is restarted as ``policy``
        allows (``DatabaseLost`` when it cannot come back); an unreachable one is probed every
        ``interval`` and marked available when it answers."""
        policy = policy or RestartPolicy()
        while True:
            await asyncio.sleep(interval)
            if self.embedded is not None and not self.embedded.alive():
                await self._restart_embedded(policy)
            elif not self.available:
                try:
                    await self._probe()
                except (PyMongoError, DatabaseUnavailable):
                    continue
                self.availability.mark_up()

    async def _restart_embedded(self, policy: RestartPolicy) -> None:
        embedded = self.embedded
        exited = f"the embedded database exited with code {embedded.returncode}"
        self.availability.mark_down(exited)
        last_error = exited
        while True:
            delay = policy.failed()
            if delay is None:
                raise DatabaseLost(
                    f"{exited} and could not be restarted in {policy.attempts} attempts ({last_error}); "
                    f"see its log {embedded.log_path}. The data in {embedded.data_dir} is kept: "
                    "fix the cause and start the server again"
                )
            log.warning("%s; restarting it in %.2g s (attempt %d of %d)", exited, delay, policy.used, policy.attempts)
            await asyncio.sleep(delay)
            old_uri = embedded.uri
            try:
                uri = await embedded.restart()
                if uri != old_uri:  # our port was taken meanwhile: follow the database to its new one
                    old, self.client = self.client, AsyncMongoClient(uri, **CLIENT_OPTIONS)
                    self.db = self.client[self.db_name]
                    await old.close()
                await self._probe_until_it_answers(max(PING_TIMEOUT, embedded.start_timeout))
            except (EmbeddedDatabaseError, OSError, PyMongoError, DatabaseUnavailable) as exc:
                last_error = getattr(exc, "reason", "") or str(exc) or type(exc).__name__
                log.warning("restart attempt %d of %d failed: %s", policy.used, policy.attempts, last_error)
                await embedded.stop_child()
                continue
            policy.started()
            self.restarts += 1
            log.warning("embedded database restarted on %s:%s (attempt %d of %d)", embedded.host, embedded.port,
                        policy.used, policy.attempts)
            self.availability.mark_up()
            return

    async def ensure_indexes(self) -> None:
        for name in REPOSITORIES:
            await getattr(self, name).ensure_indexes()

    async def close(self) -> None:
        try:
            # the driver ends its server sessions on close: not worth waiting out server selection for
            with pymongo.timeout(PING_TIMEOUT if self.available else 0.2):
                await self.client.close()
        finally:
            if self.embedded is not None:
                await self.embedded.stop()


__all__ = [
    "Store", "StoreError", "EmbeddedDatabaseError", "DataDirInUse", "DatabaseLost", "DatabaseUnavailable",
    "PyMongoError", "RestartPolicy", "is_connection_failure",
]
