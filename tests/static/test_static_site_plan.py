"""module_utils/static_site.py on its own: the parts of a publish plan the moto tests do not reach.

Pre-compressed variants, the day rule of the grace period, adopting objects another tool wrote
(multipart ETags), a lost manifest, and the content-type map.
"""

from __future__ import annotations

import datetime
import hashlib
import importlib.util
import sys
from pathlib import Path

import pytest

from tests.support.playbook import REPO


def _load():
    spec = importlib.util.spec_from_file_location("static_site", REPO / "module_utils" / "static_site.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["static_site"] = module
    spec.loader.exec_module(module)
    return module


site = _load()
NOW = datetime.datetime(2026, 11, 28, 12, 0, tzinfo=datetime.UTC)
RULES = site.DEFAULT_CACHE_RULES


def build(tmp_path: Path, files: dict[str, bytes], **options) -> dict:
    for key, body in files.items():
        (tmp_path / key).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / key).write_bytes(body)
    return site.scan_build(str(tmp_path), RULES, **options)


def uploaded(local: dict, manifest: dict, when: datetime.datetime = NOW, **options) -> tuple[object, dict]:
    """Plan against a bucket that holds exactly what the manifest says was uploaded."""
    remote = {
        key: site.RemoteObject(key=key, etag=entry["etag"], size=entry["size"])
        for key, entry in manifest.get("objects", {}).items()
    }
    plan = site.make_plan(local, remote, manifest, {}, now=when, **options)
    for key in plan.upload:
        plan.manifest["objects"][key]["etag"] = local[key].md5
    return plan, plan.manifest


@pytest.mark.parametrize(
    ("key", "content_type"),
    [
        ("assets/app-AbCd1234.js", "text/javascript; charset=utf-8"),
        ("assets/chunk.mjs", "text/javascript; charset=utf-8"),
        ("assets/app-AbCd1234.css", "text/css; charset=utf-8"),
        ("index.html", "text/html; charset=utf-8"),
        ("data.json", "application/json"),
        ("logo.svg", "image/svg+xml"),
        ("hero.webp", "image/webp"),
        ("font.woff2", "font/woff2"),
        ("engine.wasm", "application/wasm"),
        ("assets/app-AbCd1234.js.map", "application/json"),
        ("robots.txt", "text/plain; charset=utf-8"),
        ("blob.unknownext", "application/octet-stream"),
    ],
)
def test_content_type_follows_the_extension(key: str, content_type: str) -> None:
    assert site.content_type_for(key) == content_type


def test_precompressed_variant_is_published_under_the_plain_key_with_its_encoding(tmp_path: Path) -> None:
    local = build(
        tmp_path, {"assets/app-AbCd1234.js": b"x" * 100, "assets/app-AbCd1234.js.gz": b"gz"}, precompressed="gzip"
    )

    assert list(local) == ["assets/app-AbCd1234.js"]
    item = local["assets/app-AbCd1234.js"]
    assert (item.content_encoding, item.size, item.md5) == ("gzip", 2, hashlib.md5(b"gz").hexdigest())
    assert item.content_type == "text/javascript; charset=utf-8"
    assert item.cache_control == "public, max-age=31536000, immutable"


def test_day_rule_keeps_a_removed_file_until_its_last_build_is_old_enough(tmp_path: Path) -> None:
    first = build(tmp_path / "1", {"index.html": b"1", "assets/old-AbCd1234.js": b"old"})
    _, manifest = uploaded(first, site.empty_manifest(), keep_builds=0, keep_days=7)
    second = build(tmp_path / "2", {"index.html": b"2"})

    soon, _ = uploaded(second, manifest, when=NOW + datetime.timedelta(days=6), keep_builds=0, keep_days=7)
    later, _ = uploaded(second, manifest, when=NOW + datetime.timedelta(days=8), keep_builds=0, keep_days=7)

    assert (soon.keep, soon.delete) == (["assets/old-AbCd1234.js"], [])
    assert (later.keep, later.delete) == ([], ["assets/old-AbCd1234.js"])


def test_objects_written_by_aws_s3_sync_are_adopted_by_their_multipart_etag(tmp_path: Path) -> None:
    body = bytes(range(256)) * (40 * 1024 + 3)  # a little over 10 MiB: two 8 MiB parts
    local = build(tmp_path, {"assets/video-AbCd1234.mp4": body})
    item = local["assets/video-AbCd1234.mp4"]
    parts = [body[: site.MULTIPART_CHUNK], body[site.MULTIPART_CHUNK :]]
    etag = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest() + "-2"
    remote = {item.key: site.RemoteObject(key=item.key, etag=f'"{etag}"', size=len(body))}

    assert site.needs_head(item, remote[item.key], None)
    same = site.make_plan(local, remote, site.empty_manifest(), {item.key: item.headers}, now=NOW)
    other_headers = {item.key: {**item.headers, "cache_control": "max-age=60"}}
    stale = site.make_plan(local, remote, site.empty_manifest(), other_headers, now=NOW)

    assert (same.upload, same.unchanged) == ([], [item.key])
    assert stale.upload == [item.key]


def test_lost_manifest_gives_unknown_objects_the_full_grace(tmp_path: Path) -> None:
    local = build(tmp_path, {"index.html": b"new"})
    remote = {"assets/gone-AbCd1234.js": site.RemoteObject(key="assets/gone-AbCd1234.js", etag='"ab"', size=2)}

    plan = site.make_plan(local, remote, site.parse_manifest(b"{not json"), {}, now=NOW, keep_builds=1)

    assert (plan.keep, plan.delete) == (["assets/gone-AbCd1234.js"], [])


def test_the_reserved_manifest_prefix_cannot_be_published(tmp_path: Path) -> None:
    with pytest.raises(site.PlanError, match=r"\.deploy/ prefix is reserved"):
        build(tmp_path, {"index.html": b"1", ".deploy/manifest.json": b"{}"})
