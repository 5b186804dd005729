"""The session's real Redis and PostgreSQL answer, and come back on the same port."""

from __future__ import annotations

from typing import TYPE_CHECKING

import asyncpg
import pytest
import redis

if TYPE_CHECKING:
    from tests.services import PostgresServer, RedisServer

pytestmark = pytest.mark.services


def _ping(url: str) -> bool:
    with redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2) as client:
        return bool(client.ping())


async def _select_1(dsn: str) -> int:
    connection = await asyncpg.connect(dsn, timeout=5)
    try:
        value: int = await connection.fetchval("select 1")
        return value
    finally:
        await connection.close()


def test_redis_server_answers_ping(redis_server: RedisServer) -> None:
    # Given the session's Redis
    # When we ping it on its URL
    # Then it answers
    assert redis_server.url.startswith("redis://127.0.0.1:")
    assert _ping(redis_server.url)


def test_redis_server_restarts_on_the_same_port(redis_server: RedisServer) -> None:
    # Given a running Redis and its URL
    url, port = redis_server.url, redis_server.port

    # When it is stopped
    redis_server.stop()

    # Then nothing answers on its URL
    with pytest.raises(redis.ConnectionError):
        _ping(url)

    # When it is started again
    redis_server.start()

    # Then the same URL answers once more
    assert redis_server.port == port
    assert _ping(url)


def test_redis_flushall_deletes_every_key(redis_server: RedisServer) -> None:
    # Given a key in Redis
    with redis.Redis.from_url(redis_server.url) as client:
        client.set("herald:test", "1")

        # When the server is flushed
        redis_server.flushall()

        # Then the key is gone
        assert client.get("herald:test") is None


async def test_postgres_server_answers_select_1(postgres_server: PostgresServer) -> None:
    # Given the session's PostgreSQL
    # When we connect to its default database
    # Then it answers a query
    assert postgres_server.url.startswith("postgresql+asyncpg://postgres@127.0.0.1:")
    assert await _select_1(postgres_server.dsn) == 1


async def test_postgres_server_restarts_on_the_same_port(postgres_server: PostgresServer) -> None:
    # Given a running PostgreSQL and its DSN
    dsn, port = postgres_server.dsn, postgres_server.port

    # When it is stopped
    postgres_server.stop()

    # Then nothing accepts connections on its port
    with pytest.raises(OSError):
        await _select_1(dsn)

    # When it is started again
    postgres_server.start()

    # Then the same DSN answers once more
    assert postgres_server.port == port
    assert await _select_1(dsn) == 1


async def test_postgres_databases_can_be_created_and_dropped(
    postgres_server: PostgresServer,
) -> None:
    # Given a fresh database
    url = postgres_server.create_database("herald_smoke")
    assert url == postgres_server.url_for("herald_smoke")

    # When we connect to it
    # Then it answers
    assert await _select_1(postgres_server.dsn_for("herald_smoke")) == 1

    # When it is dropped
    postgres_server.drop_database("herald_smoke")

    # Then connecting to it fails
    with pytest.raises(asyncpg.InvalidCatalogNameError):
        await _select_1(postgres_server.dsn_for("herald_smoke"))
