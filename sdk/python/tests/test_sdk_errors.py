"""Herald's error replies become the SDK's error tree, with status, code, detail, fields."""

import httpx
import pytest
import respx
from herald_sdk import (
    APIError,
    AsyncHerald,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    Herald,
    HeraldError,
    InternalServerError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitedError,
    ServiceUnavailableError,
    ValidationError,
)
from herald_sdk.errors import error_from_response

TENANT_URL = "http://herald.test/api/v1/tenants/acme"

# Every status of the contract, and the class it must become.
CONTRACT_ERRORS = [
    (400, "bad_request", BadRequestError),
    (401, "unauthorized", AuthenticationError),
    (403, "forbidden", PermissionDeniedError),
    (404, "not_found", NotFoundError),
    (409, "conflict", ConflictError),
    (413, "payload_too_large", PayloadTooLargeError),
    (422, "validation_failed", ValidationError),
    (429, "throttled", RateLimitedError),
    (503, "service_unavailable", ServiceUnavailableError),
    (500, "internal_error", InternalServerError),
]


@pytest.mark.parametrize(("status", "code", "error_class"), CONTRACT_ERRORS)
def test_each_contract_status_maps_to_its_error(
    herald: Herald,
    respx_mock: respx.MockRouter,
    sleeps: list[float],
    status: int,
    code: str,
    error_class: type[APIError],
) -> None:
    # Given Herald answers with the contract's error body
    respx_mock.get(TENANT_URL).respond(status, json={"code": code, "detail": f"it is {code}"})

    # When the SDK calls it
    with pytest.raises(error_class) as caught:
        herald.tenants.get("acme")

    # Then the error carries the status, the code and the detail
    assert caught.value.status == status
    assert caught.value.code == code
    assert caught.value.detail == f"it is {code}"
    assert isinstance(caught.value, APIError)
    assert str(caught.value) == f"{status} {code}: it is {code}"


@pytest.mark.parametrize(("status", "code", "error_class"), CONTRACT_ERRORS)
async def test_each_contract_status_maps_to_its_error_async(
    async_herald: AsyncHerald,
    respx_mock: respx.MockRouter,
    sleeps: list[float],
    status: int,
    code: str,
    error_class: type[APIError],
) -> None:
    respx_mock.get(TENANT_URL).respond(status, json={"code": code, "detail": "nope"})

    with pytest.raises(error_class) as caught:
        await async_herald.tenants.get("acme")

    assert (caught.value.status, caught.value.code) == (status, code)


def test_validation_error_carries_the_invalid_fields(
    herald: Herald, respx_mock: respx.MockRouter
) -> None:
    # Given a 422 naming the field that failed
    respx_mock.post(TENANT_URL + "/messages").respond(
        422,
        json={
            "code": "validation_failed",
            "detail": "payload: 'amount' is a required property",
            "fields": {"payload": "'amount' is a required property"},
        },
    )

    # When publishing
    with pytest.raises(ValidationError) as caught:
        herald.messages.publish("acme", "invoice.paid", {"id": "in_1"})

    # Then the fields are there to show the user
    assert caught.value.fields == {"payload": "'amount' is a required property"}


def test_an_unknown_code_from_the_server_is_kept(
    herald: Herald, respx_mock: respx.MockRouter
) -> None:
    respx_mock.get(TENANT_URL).respond(409, json={"code": "uid_taken", "detail": "taken"})

    with pytest.raises(ConflictError) as caught:
        herald.tenants.get("acme")

    assert caught.value.code == "uid_taken"


@pytest.mark.parametrize(
    ("status", "error_class", "code"),
    [
        (418, APIError, "api_error"),
        (502, InternalServerError, "internal_error"),
        (404, NotFoundError, "not_found"),
    ],
)
def test_a_reply_that_is_not_heralds_still_maps_by_status(
    status: int, error_class: type[APIError], code: str
) -> None:
    # Given an error from something in front of Herald (a proxy's HTML page)
    response = httpx.Response(status, text="<html>Bad Gateway</html>")

    # When it is mapped
    error = error_from_response(response, retry_after_s=None)

    # Then the class follows the status, with a default code and a readable detail
    assert type(error) is error_class
    assert error.code == code
    assert error.detail.startswith(f"HTTP {status}")
    assert error.fields == {}


def test_rate_limited_error_says_when_to_come_back(
    herald: Herald, respx_mock: respx.MockRouter, sleeps: list[float]
) -> None:
    # Given Herald throttles every try
    respx_mock.get(TENANT_URL).respond(
        429, json={"code": "throttled", "detail": "slow down"}, headers={"Retry-After": "7"}
    )

    # When the retries run out
    with pytest.raises(RateLimitedError) as caught:
        herald.tenants.get("acme")

    # Then the last Retry-After is on the error
    assert caught.value.retry_after_s == 7.0
    assert caught.value.headers["retry-after"] == "7"


def test_a_client_needs_an_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given no key, neither passed nor in the environment
    monkeypatch.delenv("HERALD_API_KEY", raising=False)

    # When a client is made, then it says how to give one
    with pytest.raises(HeraldError, match="HERALD_API_KEY") as caught:
        Herald()
    assert caught.value.code == "missing_api_key"
    with pytest.raises(HeraldError):
        AsyncHerald()


def test_key_and_base_url_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, respx_mock: respx.MockRouter
) -> None:
    # Given the key and the URL only in the environment
    monkeypatch.setenv("HERALD_API_KEY", "hk_from_env")
    monkeypatch.setenv("HERALD_BASE_URL", "http://env.test:9000/")
    route = respx_mock.get("http://env.test:9000/api/v1/project").respond(
        401, json={"code": "unauthorized", "detail": "bad key"}
    )

    # When a client calls Herald
    with Herald() as client, pytest.raises(AuthenticationError):
        client.project.get()

    # Then it used both
    assert route.calls.last.request.headers["authorization"] == "Bearer hk_from_env"
