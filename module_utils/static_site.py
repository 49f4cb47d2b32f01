"""Plan a static-site publish: what to upload, keep, delete and invalidate.

Pure logic, no AWS calls: library/s3_static_sync.py feeds it a local build, an S3 listing and
the manifest of past publishes, and carries out the plan it returns.
"""

from __future__ import annotations

import base64
import datetime
import fnmatch
import gzip
import hashlib
import json
import mimetypes
import os
import urllib.parse
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

MANIFEST_DIR = ".deploy/"
MANIFEST_NAME = "manifest.json.gz"
MANIFEST_VERSION = 1
# How many past builds the manifest remembers (their dates, for the keep_days rule).
MANIFEST_BUILD_HISTORY = 50
# The part size `aws s3 sync` uses: lets a multipart ETag ("<md5>-<parts>") be checked locally.
MULTIPART_CHUNK = 8 * 1024 * 1024
READ_CHUNK = 1024 * 1024

# Content types by extension. Browsers refuse module scripts and stylesheets served with a
# wrong type, and a WebAssembly module streams only as application/wasm.
CONTENT_TYPES: dict[str, str] = {
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".cjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".webmanifest": "application/manifest+json",
    ".txt": "text/plain; charset=utf-8",
    ".xml": "application/xml",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".ico": "image/x-icon",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".ttf": "font/ttf",
    ".otf": "font/otf",
    ".wasm": "application/wasm",
    ".pdf": "application/pdf",
    ".mp4": "video/mp4",
    ".webm": "video/webm",
    ".mp3": "audio/mpeg",
    ".wav": "audio/wav",
    ".gz": "application/gzip",
    ".br": "application/x-brotli",
}
DEFAULT_CONTENT_TYPE = "application/octet-stream"

# The defaults of the cache_rules option (and of static_site_cache_rules in roles/static_site).
DEFAULT_CACHE_RULES: list[dict[str, str]] = [
    {"pattern": "*.html", "cache_control": "no-cache"},
    {"pattern": "assets/*-????????.*", "cache_control": "public, max-age=31536000, immutable"},
    {"pattern": "*", "cache_control": "public, max-age=300"},
]
PRECOMPRESSED_SUFFIX = {"gzip": ".gz", "br": ".br"}


class PlanError(ValueError):
    """A build or setting the module cannot publish; the message says what to fix."""


@dataclass(frozen=True)
class LocalFile:
    """One file of the build as it will land in S3."""

    key: str
    path: str
    size: int
    md5: str
    content_type: str
    cache_control: str
    content_encoding: str = ""

    @property
    def headers(self) -> dict[str, str]:
        return {
            "content_type": self.content_type,
            "cache_control": self.cache_control,
            "content_encoding": self.content_encoding,
        }

    @property
    def content_md5(self) -> str:
        return base64.b64encode(bytes.fromhex(self.md5)).decode()


@dataclass(frozen=True)
class RemoteObject:
    key: str
    etag: str
    size: int


@dataclass
class Plan:
    """What a publish does. Keys are relative to the prefix."""

    upload: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    delete: list[str] = field(default_factory=list)
    keep: list[str] = field(default_factory=list)
    invalidation_paths: list[str] = field(default_factory=list)
    manifest: dict = field(default_factory=dict)
    manifest_changed: bool = False
    generation: int = 0


# ---------------------------------------------------------------- the local build


def content_type_for(key: str, overrides: Mapping[str, str] | None = None) -> str:
    extension = os.path.splitext(key)[1].lower()
    if overrides and extension in overrides:
        return overrides[extension]
    if extension in CONTENT_TYPES:
        return CONTENT_TYPES[extension]
    guessed = mimetypes.guess_type(key, strict=False)[0]
    return guessed or DEFAULT_CONTENT_TYPE


def cache_control_for(key: str, rules: Iterable[Mapping[str, str]]) -> str:
    """The first rule whose glob matches the key wins; `*` also matches across `/`."""
    for rule in rules:
        if fnmatch.fnmatchcase(key, rule["pattern"]):
            return rule["cache_control"]
    return ""


def is_immutable(cache_control: str) -> bool:
    return "immutable" in [part.strip().lower() for part in cache_control.split(",")]


def file_md5(path: str) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        while chunk := handle.read(READ_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def multipart_etag(path: str, parts: int, chunk: int = MULTIPART_CHUNK) -> str:
    """The ETag S3 gives a multipart upload of this file in `chunk`-sized parts."""
    digests = []
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digests.append(hashlib.md5(block, usedforsecurity=False).digest())
    if len(digests) != parts:
        return ""
    return f"{hashlib.md5(b''.join(digests), usedforsecurity=False).hexdigest()}-{parts}"


def walk_build(src: str) -> list[tuple[str, str]]:
    """(key, path) for every regular file below src, keys with `/`, sorted."""
    found = []
    for root, dirs, files in os.walk(src, followlinks=True):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(root, name)
            if not os.path.isfile(path):
                continue
            key = os.path.relpath(path, src).replace(os.sep, "/")
            found.append((key, path))
    return found


def scan_build(
    src: str,
    rules: list[Mapping[str, str]],
    content_types: Mapping[str, str] | None = None,
    precompressed: str = "none",
    workers: int = 8,
) -> dict[str, LocalFile]:
    """Hash the build in parallel and give every key its body and headers.

    With precompressed=gzip (or br), a file `X` that has a sibling `X.gz` (`X.br`) is published
    under key `X` with the compressed body and Content-Encoding; the sibling itself is not
    published. Content-Type and Cache-Control always follow `X`.
    """
    if not os.path.isdir(src):
        raise PlanError(f"the build directory {src} does not exist or is not a directory")
    entries = walk_build(src)
    if not entries:
        raise PlanError(f"the build directory {src} is empty")
    reserved = [key for key, _entry in entries if key.startswith(MANIFEST_DIR)]
    if reserved:
        raise PlanError(
            f"the build holds {reserved[0]}: the {MANIFEST_DIR} prefix is reserved for the publish manifest"
        )
    paths = dict(entries)
    bodies: dict[str, tuple[str, str]] = {}  # key -> (path of the body, content encoding)
    suffix = PRECOMPRESSED_SUFFIX.get(precompressed, "")
    variants = {key + s for key in paths for s in PRECOMPRESSED_SUFFIX.values()} if suffix else set()
    for key, path in entries:
        if key in variants:
            continue
        if suffix and key + suffix in paths:
            bodies[key] = (paths[key + suffix], precompressed)
        else:
            bodies[key] = (path, "")

    def describe(key: str) -> LocalFile:
        path, encoding = bodies[key]
        return LocalFile(
            key=key,
            path=path,
            size=os.path.getsize(path),
            md5=file_md5(path),
            content_type=content_type_for(key, content_types),
            cache_control=cache_control_for(key, rules),
            content_encoding=encoding,
        )

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        described = list(pool.map(describe, sorted(bodies)))
    return {item.key: item for item in described}


def build_fingerprint(files: Mapping[str, LocalFile]) -> str:
    digest = hashlib.sha256()
    for key in sorted(files):
        item = files[key]
        line = "\t".join([key, item.md5, item.content_type, item.cache_control, item.content_encoding])
        digest.update(line.encode() + b"\n")
    return digest.hexdigest()


# ---------------------------------------------------------------- the manifest


def empty_manifest() -> dict:
    return {"version": MANIFEST_VERSION, "builds": [], "objects": {}, "pending_invalidation": []}


def parse_manifest(body: bytes | None) -> dict:
    """The stored manifest, or an empty one when it is missing or unreadable (the plan then
    falls back to comparing ETags and headers, and gives unknown objects the full grace)."""
    if not body:
        return empty_manifest()
    try:
        data = json.loads(gzip.decompress(body) if body[:2] == b"\x1f\x8b" else body)
    except (ValueError, OSError, EOFError):
        return empty_manifest()
    if not isinstance(data, dict) or data.get("version") != MANIFEST_VERSION:
        return empty_manifest()
    manifest = empty_manifest()
    manifest["builds"] = [b for b in data.get("builds", []) if isinstance(b, dict) and "generation" in b]
    manifest["objects"] = {k: v for k, v in data.get("objects", {}).items() if isinstance(v, dict)}
    manifest["pending_invalidation"] = [p for p in data.get("pending_invalidation", []) if isinstance(p, str)]
    return manifest


def dump_manifest(manifest: Mapping) -> bytes:
    """Compact JSON, gzipped: about 60 bytes an object."""
    text = json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()
    return gzip.compress(text, mtime=0)


def normalize_etag(etag: str) -> str:
    return etag.strip().strip('"').lower()


def local_etag_matches(item: LocalFile, etag: str) -> bool:
    """Whether the object's ETag is this body's: plain MD5, or multipart in 8 MiB parts."""
    etag = normalize_etag(etag)
    if "-" not in etag:
        return etag == item.md5
    parts = etag.rsplit("-", 1)[1]
    return parts.isdigit() and multipart_etag(item.path, int(parts)) == etag


# ---------------------------------------------------------------- the plan


def _iso(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_iso(text: str) -> datetime.datetime | None:
    try:
        return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.UTC)
    except (TypeError, ValueError):
        return None


def invalidation_path(key: str) -> str:
    return "/" + urllib.parse.quote(key, safe="/-_.~!$&'()+,;=:@")


def _entry(item: LocalFile, etag: str, generation: int, published_at: str) -> dict:
    return {
        "md5": item.md5,
        "etag": normalize_etag(etag),
        "size": item.size,
        **item.headers,
        "generation": generation,
        "published_at": published_at,
    }


def _unchanged_by_manifest(item: LocalFile, remote: RemoteObject, entry: Mapping | None) -> bool:
    if not entry or normalize_etag(remote.etag) != entry.get("etag") or remote.size != item.size:
        return False
    return entry.get("md5") == item.md5 and all(entry.get(name) == value for name, value in item.headers.items())


def needs_head(item: LocalFile, remote: RemoteObject | None, entry: Mapping | None) -> bool:
    """An object the manifest does not vouch for but whose body may be the build's: its headers
    decide (a HEAD request) whether it can stay."""
    if remote is None or remote.size != item.size or _unchanged_by_manifest(item, remote, entry):
        return False
    return local_etag_matches(item, remote.etag)


def make_plan(
    local: Mapping[str, LocalFile],
    remote: Mapping[str, RemoteObject],
    manifest: Mapping,
    remote_headers: Mapping[str, Mapping[str, str]],
    now: datetime.datetime,
    keep_builds: int = 2,
    keep_days: int = 0,
    root_object: str = "index.html",
) -> Plan:
    """Decide the publish.

    remote_headers holds, for the keys `needs_head` selected, the object's content_type,
    cache_control and content_encoding as S3 reports them.
    """
    old_objects: Mapping[str, Mapping] = manifest.get("objects", {})
    builds = list(manifest.get("builds", []))
    fingerprint = build_fingerprint(local)
    last = builds[-1] if builds else None
    if last and last.get("fingerprint") == fingerprint:
        generation, published_at = int(last["generation"]), str(last.get("published_at", _iso(now)))
    else:
        generation = int(last["generation"]) + 1 if last else 1
        published_at = _iso(now)
        builds.append({"generation": generation, "fingerprint": fingerprint, "published_at": published_at})
    plan = Plan(generation=generation)
    objects: dict[str, dict] = {}
    changed_keys: set[str] = set()

    for key, item in sorted(local.items()):
        obj, entry = remote.get(key), old_objects.get(key)
        if obj is not None and _unchanged_by_manifest(item, obj, entry):
            unchanged = True
        elif obj is not None and key in remote_headers:
            unchanged = all(remote_headers[key].get(name, "") == value for name, value in item.headers.items())
        else:
            unchanged = False
        if unchanged:
            plan.unchanged.append(key)
            etag = obj.etag if obj else ""
            objects[key] = _entry(item, etag, generation, published_at)
            continue
        plan.upload.append(key)
        objects[key] = _entry(item, "", generation, published_at)  # the ETag is filled in after the upload
        if obj is not None:
            plan.replaced.append(key)
            if not is_immutable(item.cache_control):
                changed_keys.add(key)

    for key, obj in sorted(remote.items()):
        if key in local:
            continue
        entry = dict(old_objects.get(key) or {})
        if not entry:
            # Not published by this module (or the manifest was lost): count it as part of the
            # previous build, so it gets the whole grace before it goes.
            entry = {"etag": normalize_etag(obj.etag), "size": obj.size, "generation": generation - 1}
            entry["published_at"] = _iso(now)
        absent_for = generation - int(entry.get("generation", generation - 1))
        last_seen = _parse_iso(str(entry.get("published_at", ""))) or now
        within_builds = absent_for <= keep_builds
        within_days = keep_days > 0 and now - last_seen < datetime.timedelta(days=keep_days)
        if within_builds or within_days:
            plan.keep.append(key)
            objects[key] = entry
        else:
            plan.delete.append(key)
            if not is_immutable(str(entry.get("cache_control", ""))):
                changed_keys.add(key)

    # Paths a past run could not invalidate (stored in the manifest) come first.
    paths = set(manifest.get("pending_invalidation", [])) | {invalidation_path(key) for key in changed_keys}
    if root_object and invalidation_path(root_object) in paths:
        paths.add("/")  # CloudFront caches the default root object under "/" as well
    plan.invalidation_paths = sorted(paths)

    new_manifest = {
        "version": MANIFEST_VERSION,
        "builds": builds[-MANIFEST_BUILD_HISTORY:],
        "objects": objects,
        "pending_invalidation": [],
    }
    plan.manifest = new_manifest
    plan.manifest_changed = _comparable(new_manifest) != _comparable(manifest) or bool(plan.upload)
    return plan


def _comparable(manifest: Mapping) -> str:
    return json.dumps(
        {name: manifest.get(name) for name in ("version", "builds", "objects", "pending_invalidation")},
        sort_keys=True,
    )
