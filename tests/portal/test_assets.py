"""portal.assets: the pinned htmx is placed once, checked by digest, never trusted blindly."""

import hashlib
import io
import zipfile
from pathlib import Path

import pytest

from portal import assets
from portal.assets import AssetError, WheelAsset, fetch

CONTENT = b"/* htmx stand-in */"


def fake_wheel(tmp_path: Path, member: str, content: bytes) -> Path:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(member, content)
    path = tmp_path / "fake-1.0-py3-none-any.whl"
    path.write_bytes(buffer.getvalue())
    return path


def asset_for(content: bytes) -> WheelAsset:
    return WheelAsset(
        requirement="fake==1.0",
        member="fake/static/htmx.min.js",
        sha256=hashlib.sha256(content).hexdigest(),
        target="htmx.min.js",
    )


async def test_fetch_places_the_file_then_skips_the_download(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a registry that serves a wheel holding the asset, counting downloads
    downloads: list[str] = []

    def download(requirement: str, into: Path, timeout_s: float) -> Path:
        downloads.append(requirement)
        return fake_wheel(into, "fake/static/htmx.min.js", CONTENT)

    monkeypatch.setattr(assets, "_download_wheel", download)
    vendor = tmp_path / "vendor"

    # When it is fetched twice
    first = fetch(asset_for(CONTENT), vendor)
    second = fetch(asset_for(CONTENT), vendor)

    # Then the file is in place and only the first call downloaded
    assert first == second == vendor / "htmx.min.js"
    assert first.read_bytes() == CONTENT
    assert downloads == ["fake==1.0"]


async def test_a_wrong_digest_is_refused_and_nothing_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a registry serving tampered content
    monkeypatch.setattr(
        assets,
        "_download_wheel",
        lambda requirement, into, timeout_s: fake_wheel(
            into, "fake/static/htmx.min.js", b"alert('evil')"
        ),
    )
    vendor = tmp_path / "vendor"

    # When it is fetched
    with pytest.raises(AssetError, match="sha256"):
        fetch(asset_for(CONTENT), vendor)

    # Then no file was placed
    assert not (vendor / "htmx.min.js").exists()


def test_htmx_pin_is_the_django_htmx_wheel() -> None:
    # Given the pinned asset, Then it is htmx 2 from django-htmx 1.29.0 with its known digest
    assert assets.HTMX.requirement == "django-htmx==1.29.0"
    assert assets.HTMX.member.endswith("htmx-2.min.js")
    assert assets.HTMX.sha256 == "71ea67185bfa8c98c39d31717c6fce5d852370fcdfd129db4543774d3145c0de"
