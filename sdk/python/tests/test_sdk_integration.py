"""The SDK against a real ``herald dev`` on 127.0.0.1, delivering to a real receiver that
verifies with ``herald_sdk.webhooks`` and the ``standardwebhooks`` library alike."""

import asyncio
import base64
import json
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest
from herald_sdk import (
    AsyncHerald,
    Attempt,
    AuthenticationError,
    ConflictError,
    Herald,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from sdk_live import HeraldServer, Receiver

DELIVERY_TIMEOUT_S = 30.0
T = TypeVar("T")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def new_whsec() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def wait_until(probe: Callable[[], T | None], timeout_s: float = DELIVERY_TIMEOUT_S) -> T:
    deadline = time.monotonic() + timeout_s
    while (result := probe()) is None:
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)
    return result


def succeeded(attempts: list[Attempt]) -> Attempt | None:
    return next((attempt for attempt in attempts if attempt.status == "succeeded"), None)


def test_publish_is_delivered_signed_and_verified(
    herald_server: HeraldServer, webhook_receiver: Receiver
) -> None:
    with Herald(api_key=herald_server.api_key, base_url=herald_server.base_url) as herald:
        # Given a tenant, an event type and an endpoint at the receiver, with our secret
        tenant = herald.tenants.create("Sync Co", uid=unique("sync"))
        event_type = herald.event_types.create(unique("invoice.paid"))
        secret = new_whsec()
        url = webhook_receiver.expect("/sync", secret)
        endpoint = herald.endpoints.create(tenant.uid, url, secret=secret)
        assert herald.endpoints.get_secret(tenant.uid, endpoint.id).key == secret

        # When publishing an event
        payload = {"invoice": "in_1", "amount": 42}
        message = herald.messages.publish(tenant.uid, event_type.name, payload)

        # Then an attempt succeeds, and the receiver verified the request both ways
        attempt = wait_until(
            lambda: succeeded(list(herald.messages.attempts(tenant.uid, message.id)))
        )
        assert attempt.endpoint_id == endpoint.id
        assert attempt.response_status_code == 204
        [hook] = webhook_receiver.wait_for("/sync")
        assert hook.verified_by_sdk
        assert hook.verified_by_standardwebhooks
        assert hook.headers["webhook-id"] == message.id
        assert json.loads(hook.body) == payload
        [delivery] = herald.messages.deliveries(tenant.uid, message.id)
        assert (delivery.endpoint_id, delivery.status) == (endpoint.id, "succeeded")
        assert herald.messages.get(tenant.uid, message.id).payload == payload

        # And a portal link can be minted for the tenant
        access = herald.portal_access.create(tenant.uid, expires_in_s=600)
        assert access.url.startswith("http")
        assert access.token


def test_a_retried_publish_key_delivers_once(
    herald_server: HeraldServer, webhook_receiver: Receiver
) -> None:
    with Herald(api_key=herald_server.api_key, base_url=herald_server.base_url) as herald:
        # Given an endpoint at the receiver
        tenant = herald.tenants.create("Dedup Co", uid=unique("dedup"))
        event_type = herald.event_types.create(unique("order.created"))
        secret = new_whsec()
        herald.endpoints.create(
            tenant.uid, webhook_receiver.expect("/dedup", secret), secret=secret
        )

        # When the same idempotency key is published twice
        first = herald.messages.publish(tenant.uid, event_type.name, {"n": 1}, idempotency_key="k1")
        again = herald.messages.publish(tenant.uid, event_type.name, {"n": 1}, idempotency_key="k1")

        # Then the second is the first message, flagged, and one webhook arrives
        assert (first.duplicate, again.duplicate) == (False, True)
        assert again.id == first.id
        wait_until(lambda: succeeded(list(herald.messages.attempts(tenant.uid, first.id))))
        assert len(webhook_receiver.wait_for("/dedup")) == 1


def test_errors_and_pages_from_the_real_server(herald_server: HeraldServer) -> None:
    with Herald(api_key=herald_server.api_key, base_url=herald_server.base_url) as herald:
        # Given three tenants
        uids = {herald.tenants.create("Paged", uid=unique("page")).uid for _ in range(3)}

        # Then a walk one tenant per page finds them all
        assert uids <= {tenant.uid for tenant in herald.tenants.list(limit=1)}

        # And the server's errors come out as the SDK's
        with pytest.raises(ConflictError):
            herald.tenants.create("Again", uid=next(iter(uids)))
        with pytest.raises(NotFoundError):
            herald.tenants.get(unique("nobody"))
        with pytest.raises(ValidationError) as caught:
            herald.endpoints.create(next(iter(uids)), "ftp://example.com/hook")
        assert caught.value.fields
    stranger = Herald(api_key="hk_wrong", base_url=herald_server.base_url)
    with stranger, pytest.raises(AuthenticationError):
        stranger.project.get()


async def async_wait_until(
    probe: Callable[[], Awaitable[bool]], timeout_s: float = DELIVERY_TIMEOUT_S
) -> None:
    deadline = time.monotonic() + timeout_s
    while not await probe():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.2)


async def test_publish_is_delivered_signed_and_verified_async(
    herald_server: HeraldServer, webhook_receiver: Receiver
) -> None:
    async with AsyncHerald(
        api_key=herald_server.api_key, base_url=herald_server.base_url
    ) as herald:
        # Given a tenant and an ed25519 endpoint at the receiver, verified by its public key
        tenant = await herald.tenants.create("Async Co", uid=unique("async"))
        event_type = await herald.event_types.create(unique("user.signed_up"))
        endpoint = await herald.endpoints.create(tenant.id, webhook_receiver.base_url + "/async")
        signing_key = "whsk_" + base64.b64encode(secrets.token_bytes(32)).decode()
        await herald.endpoints.rotate_secret(tenant.id, endpoint.id, key=signing_key)
        secret = await herald.endpoints.get_secret(tenant.id, endpoint.id)
        assert secret.key == signing_key
        assert secret.public_key is not None
        webhook_receiver.expect("/async", secret.public_key)

        # When publishing
        message = await herald.messages.publish(tenant.id, event_type.name, {"user": "u_1"})

        # Then the delivery succeeds, verified with the whpk_ key
        async def delivered() -> bool:
            attempts = [a async for a in herald.messages.attempts(tenant.id, message.id)]
            return succeeded(attempts) is not None

        await async_wait_until(delivered)
        hooks = await asyncio.to_thread(webhook_receiver.wait_for, "/async")
        assert hooks[-1].verified_by_sdk
        assert "v1a," in hooks[-1].headers["webhook-signature"]
        stats = await herald.endpoints.stats(tenant.id, endpoint.id)
        assert stats.counts.succeeded >= 1
        access = await herald.portal_access.create(tenant.id)
        assert access.url.startswith("http")


def test_api_keys_are_minted_scoped_rotated_and_revoked(herald_server: HeraldServer) -> None:
    with Herald(api_key=herald_server.api_key, base_url=herald_server.base_url) as herald:
        # Given a read key minted with the SDK
        minted = herald.api_keys.create(unique("dashboard"), scopes=["read"])
        assert minted.key.startswith(minted.prefix) and minted.scopes == ["read"]
        assert minted.key not in repr(minted)
        assert minted.id in {key.id for key in herald.api_keys.list()}

        # Then it reads, but may not write
        with Herald(api_key=minted.key, base_url=herald_server.base_url) as reader:
            assert reader.project.get().id
            with pytest.raises(PermissionDeniedError):
                reader.tenants.create("Not allowed")

        # And once rotated without overlap, the new key works and the old does not
        rotated = herald.api_keys.rotate(minted.id)
        assert rotated.name == minted.name and rotated.id != minted.id
        assert herald.api_keys.get(minted.id).revoked_at is not None
        wait_until(lambda: _refused(herald_server, minted.key) or None)
        herald.api_keys.revoke(rotated.id)
        wait_until(lambda: _refused(herald_server, rotated.key) or None)


def _refused(herald_server: HeraldServer, key: str) -> bool:
    with Herald(api_key=key, base_url=herald_server.base_url) as client:
        try:
            client.project.get()
        except AuthenticationError:
            return True
    return False


def test_the_endpoint_limit_is_a_project_setting(herald_server: HeraldServer) -> None:
    with Herald(api_key=herald_server.api_key, base_url=herald_server.base_url) as herald:
        # Given a project allowing one endpoint per tenant, and a tenant holding one
        assert herald.project.get().max_endpoints_per_tenant == 50
        assert herald.project.update(max_endpoints_per_tenant=1).max_endpoints_per_tenant == 1
        try:
            tenant = herald.tenants.create("Limited", uid=unique("limited"))
            herald.endpoints.create(tenant.uid, "https://1.1.1.1/one")

            # When a second is created, then it is refused with the limit's code
            with pytest.raises(ConflictError) as caught:
                herald.endpoints.create(tenant.uid, "https://1.1.1.1/two")
            assert caught.value.code == "endpoint_limit"

            # And once the setting is raised, it is created
            assert herald.project.get().max_endpoints_per_tenant == 1
            herald.project.update(max_endpoints_per_tenant=2)
            herald.endpoints.create(tenant.uid, "https://1.1.1.1/two")
            assert len(list(herald.endpoints.list(tenant.uid))) == 2
        finally:
            herald.project.update(max_endpoints_per_tenant=50)
