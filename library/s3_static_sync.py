#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Publish a static web build (Vite/React dist) to S3 with per-file headers, and invalidate
# exactly the CloudFront paths that changed.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: s3_static_sync
short_description: Publish a static web build to S3 and invalidate only what changed in CloudFront
version_added: 1.0.0
description:
  - Compares a local build directory (for example a Vite or React C(dist)) with a bucket prefix
    by content hash and uploads, in parallel, only the files that are new or whose body or
    headers changed.
  - Every object gets a Content-Type from its extension and a Cache-Control from the first
    matching rule of O(cache_rules).
  - Files that left the build are not deleted at once, because a browser holding an old
    C(index.html) still asks for the assets it references. A removed file stays while it belongs
    to one of the last O(keep_builds) published builds, or while fewer than O(keep_days) days
    have passed since the last build that contained it; it is deleted once outside both.
  - "The state this needs is a small JSON manifest stored in the bucket under
    C(<prefix>.deploy/manifest.json.gz): for each object the body's MD5, the ETag S3 returned,
    its headers and the last build (generation and date) that contained it, plus the recent
    builds' fingerprints. A build counts as a new publish only when its fingerprint (keys,
    hashes and headers) differs from the last one, so re-running a publish neither advances
    the grace count nor writes anything. The C(.deploy/) prefix is reserved: the module never
    publishes or deletes other keys under it, and the bucket policy should deny CloudFront
    access to it."
  - Objects without a manifest entry (uploaded by another tool, or a lost manifest) are compared
    by ETag (a plain MD5, or a multipart ETag in 8 MiB parts as C(aws s3 sync) writes it) and,
    when the body matches, by their headers (one HEAD request each). Unknown objects missing
    from the build are counted as part of the previous build, so they get the full grace.
  - With O(distribution_id), creates one CloudFront invalidation for exactly the paths that need
    it, only when there are any. Those are the replaced or deleted objects whose Cache-Control is
    not C(immutable), plus C(/) when the distribution's default root object changed (CloudFront
    caches it under C(/) too). Fingerprinted assets are never invalidated. Paths that could not
    be invalidated are kept in the manifest and invalidated by the next run.
  - In check mode nothing is written; the result and the diff show the same plan a real run
    would carry out.
author:
  - mensetsu platform team (!UNKNOWN)
options:
  bucket:
    description: The bucket to publish to. It must exist.
    type: str
    required: true
  account_id:
    description:
      - The account that must own O(bucket). Every request on the bucket carries it as S3's bucket owner
        condition (C(ExpectedBucketOwner)), so a build is never read from nor written to another
        account's bucket of that name (bucket names are global); such a bucket answers 403 and the
        task fails before any upload.
      - Not given, the caller's account (one STS C(GetCallerIdentity)).
    type: str
  src:
    description: The local build directory; its layout becomes the key layout below O(prefix).
    type: path
    required: true
  prefix:
    description:
      - Key prefix in the bucket, for example C(web/). Empty publishes at the bucket's root.
      - Invalidation paths are relative to it, as they are for a distribution whose origin path
        is the prefix.
    type: str
    default: ""
  cache_rules:
    description:
      - Ordered Cache-Control rules; the first whose O(cache_rules[].pattern) matches the key
        (relative to O(prefix)) wins. Patterns are shell globs where C(*) also matches C(/).
      - A key no rule matches gets no Cache-Control.
      - The default sends C(no-cache) for every C(*.html), C(public, max-age=31536000, immutable) for
        fingerprinted assets C(assets/*-????????.*) (Vite's 8-character content hash), and
        C(public, max-age=300) for everything else.
    type: list
    elements: dict
    suboptions:
      pattern:
        description: Glob matched against the key.
        type: str
        required: true
      cache_control:
        description: The Cache-Control header for matching keys.
        type: str
        required: true
  content_types:
    description:
      - 'Extra or overriding Content-Types by extension, for example C({".glb": "model/gltf-binary"}).'
      - The built-in map covers C(.html .js .mjs .css .json .map .svg .png .jpg .webp .avif .ico
        .woff .woff2 .ttf .wasm .txt .xml .webmanifest) and more; other extensions fall back to
        Python's mimetypes, then C(application/octet-stream).
    type: dict
    default: {}
  precompressed:
    description:
      - Publish pre-compressed variants built next to the files (C(app.js.gz) or C(app.js.br)).
      - With V(gzip) or V(br), a file that has such a sibling is uploaded under its own key with
        the compressed body and a Content-Encoding header, and the sibling is not published.
        CloudFront passes the encoding through unchanged, so choose an encoding every client of the
        site accepts (V(gzip) is the safe one; V(br) suits HTTPS-only browser traffic).
    type: str
    choices: [none, gzip, br]
    default: none
  keep_builds:
    description: How many previous builds' files survive after they left the build.
    type: int
    default: 2
  keep_days:
    description:
      - Also keep a removed file while fewer than this many days have passed since the last build
        that contained it. V(0) turns the day rule off.
    type: int
    default: 0
  distribution_id:
    description:
      - The CloudFront distribution in front of the bucket. When known (from this option or from
        O(distribution_comment)), the module creates the invalidation itself (one per run, only
        when there are paths) and reads the distribution's default root object.
      - When neither option is set, the module only returns RV(invalidation_paths).
    type: str
  distribution_comment:
    description:
      - Find the distribution by its Comment when O(distribution_id) is empty. Exactly one
        distribution must have it.
    type: str
  root_object:
    description:
      - The distribution's default root object; when it changes, C(/) is invalidated with it.
      - Defaults to the distribution's own setting when O(distribution_id) is set, else C(index.html).
    type: str
  wait:
    description: Wait until the invalidation completes.
    type: bool
    default: false
  wait_timeout:
    description: How long to wait for the invalidation, in seconds.
    type: int
    default: 900
  parallelism:
    description: How many files are hashed, compared and uploaded at once.
    type: int
    default: 16
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Publish the React build and invalidate what changed
  s3_static_sync:
    bucket: mensetsu-prod-static-123456789012  # static_bucket_name: <prefix>-static-<account id>
    src: "{{ playbook_dir }}/../frontend/dist"
    distribution_id: E2ABCDEF123456
  register: publish

- name: Plan only, with one week of grace for removed files and gzip variants
  s3_static_sync:
    bucket: mensetsu-dev-static-123456789012
    src: /srv/build/dist
    keep_builds: 0
    keep_days: 7
    precompressed: gzip
    cache_rules:
      - {pattern: "*.html", cache_control: "no-cache"}
      - {pattern: "assets/*", cache_control: "public, max-age=31536000, immutable"}
      - {pattern: "*", cache_control: "public, max-age=600"}
  check_mode: true
"""

RETURN = r"""
uploaded:
  description: Keys uploaded (new, or whose body or headers changed), relative to the prefix.
  returned: always
  type: list
  elements: str
  sample: ["assets/index-BxT3k9aQ.js", "index.html"]
deleted:
  description: Keys deleted because they left the build longer ago than the grace rule allows.
  returned: always
  type: list
  elements: str
kept:
  description: Keys no longer in the build that the grace rule keeps for now.
  returned: always
  type: list
  elements: str
  sample: ["assets/index-Dq81xk2P.js"]
unchanged_count:
  description: How many keys of the build were already up to date.
  returned: always
  type: int
invalidation_paths:
  description: The CloudFront paths that need invalidation; never a fingerprinted (immutable) asset.
  returned: always
  type: list
  elements: str
  sample: ["/", "/index.html"]
invalidation:
  description: The invalidation created by this run; empty when none was needed or in check mode.
  returned: always
  type: dict
  contains:
    id:
      description: The invalidation's id.
      type: str
    status:
      description: Its status when the module returned.
      type: str
    caller_reference:
      description: The caller reference sent with it.
      type: str
generation:
  description: The publish generation of this build (it grows only when the build differs from the last).
  returned: always
  type: int
distribution_id:
  description: The distribution the paths were invalidated in; empty when none was given.
  returned: always
  type: str
missing:
  description:
    - On failure, what is missing - V(bucket), V(distribution) or V(build), or V(bucket_owner) when
      the bucket answers 403 under the owner condition - so a playbook can name the setting to fix.
  returned: failure
  type: str
manifest_key:
  description: The key of the publish manifest.
  returned: always
  type: str
  sample: .deploy/manifest.json.gz
"""

import datetime
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

try:
    import botocore
    from botocore.config import Config
except ImportError:
    pass  # handled by AWSModule

from ansible.module_utils.aws_account import caller_account
from ansible.module_utils.aws_module import AWSModule
from ansible.module_utils.s3_owner import DENIED_CODES, OwnerConditionClient
from ansible.module_utils.static_site import (
    DEFAULT_CACHE_RULES,
    MANIFEST_DIR,
    MANIFEST_NAME,
    LocalFile,
    Plan,
    PlanError,
    RemoteObject,
    dump_manifest,
    make_plan,
    needs_head,
    normalize_etag,
    parse_manifest,
    scan_build,
)
from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

DELETE_BATCH = 1000


class Missing(Exception):
    """Something the publish needs does not exist; `what` is bucket, distribution or build."""

    def __init__(self, what: str, message: str) -> None:
        super().__init__(message)
        self.what = what


@dataclass
class State:
    """What a publish starts from."""

    local: dict[str, LocalFile]
    remote: dict[str, RemoteObject]
    manifest: dict
    distribution_id: str = ""
    root_object: str = "index.html"


class Publisher:
    """Reads the bucket and the distribution, and carries out a plan."""

    def __init__(self, module: AWSModule) -> None:
        self.module = module
        self.params = module.params
        self.bucket: str = self.params["bucket"]
        self.prefix: str = self.params["prefix"] or ""
        self.manifest_key = self.prefix + MANIFEST_DIR + MANIFEST_NAME
        self.workers = max(1, self.params["parallelism"])
        self.retry = AWSRetry.jittered_backoff(retries=10)
        # Every upload carries its Content-MD5, which S3 verifies: the SDK's extra CRC32 would only cost time.
        config = Config(max_pool_connections=self.workers + 4, request_checksum_calculation="when_required")
        self.owner = caller_account(module)
        self.s3 = OwnerConditionClient(module.client("s3", retry_decorator=self.retry, config=config), self.owner)
        self._cloudfront = None
        self.distribution_id: str = self.params["distribution_id"] or ""

    @property
    def cloudfront(self):
        """Created on first use: in read_state that is a worker thread, while S3 is being listed."""
        if self._cloudfront is None:
            self._cloudfront = self.module.client("cloudfront", retry_decorator=self.retry, region="us-east-1")
        return self._cloudfront

    # ------------------------------------------------------------ reading

    def find_distribution(self) -> str:
        """The distribution's id: distribution_id, else the one whose Comment is distribution_comment."""
        comment = self.params["distribution_comment"]
        if self.distribution_id or not comment:
            return self.distribution_id
        pages = self.cloudfront.get_paginator("list_distributions").paginate()
        found = [
            item["Id"]
            for page in pages
            for item in page.get("DistributionList", {}).get("Items", [])
            if item.get("Comment") == comment
        ]
        if len(found) != 1:
            ids = f" ({', '.join(found)})" if found else ""
            raise Missing(
                "distribution",
                f"{len(found)} CloudFront distributions{ids} have the comment {comment!r}; exactly one must.",
            )
        return found[0]

    def distribution(self) -> tuple[str, str]:
        """The distribution's id and its default root object (the root_object option wins)."""
        distribution_id = self.find_distribution()
        if self.params["root_object"] is not None:
            return distribution_id, self.params["root_object"]
        if not distribution_id:
            return "", "index.html"
        try:
            config = self.cloudfront.get_distribution_config(Id=distribution_id, aws_retry=True)
        except is_boto3_error_code("NoSuchDistribution"):
            raise Missing("distribution", f"The CloudFront distribution {distribution_id} does not exist.") from None
        return distribution_id, config["DistributionConfig"].get("DefaultRootObject", "")

    def list_remote(self) -> dict[str, RemoteObject]:
        found: dict[str, RemoteObject] = {}
        try:
            paginator = self.s3.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix, **self.s3.condition()):
                for item in page.get("Contents", []):
                    key = item["Key"][len(self.prefix) :]
                    if key and not key.startswith(MANIFEST_DIR):
                        found[key] = RemoteObject(key=key, etag=item["ETag"], size=item["Size"])
        except is_boto3_error_code("NoSuchBucket"):
            raise Missing("bucket", f"The bucket {self.bucket} does not exist.") from None
        except is_boto3_error_code(list(DENIED_CODES)):  # pylint: disable=duplicate-except
            raise Missing(
                "bucket_owner",
                f"The bucket {self.bucket} answers 403 to account {self.owner} under S3's bucket owner condition: "
                "another AWS account holds the name (bucket names are global), or these credentials may not list it.",
            ) from None
        return found

    def read_manifest(self) -> dict:
        try:
            body = self.s3.get_object(Bucket=self.bucket, Key=self.manifest_key, aws_retry=True)["Body"].read()
        except is_boto3_error_code(["NoSuchKey", "404"]):
            body = None
        except is_boto3_error_code("NoSuchBucket"):  # pylint: disable=duplicate-except
            return parse_manifest(None)  # list_remote reports it
        return parse_manifest(body)

    def read_state(self, scan: Callable[[], dict[str, LocalFile]]) -> State:
        """Hash the build while the bucket, the manifest and the distribution are read."""
        with ThreadPoolExecutor(max_workers=4) as pool:
            remote = pool.submit(self.list_remote)
            manifest = pool.submit(self.read_manifest)
            distribution = pool.submit(self.distribution)
            local = pool.submit(scan)
            # In this order, so that the first problem a user has to fix is the one reported.
            state = State(local=local.result(), remote=remote.result(), manifest=manifest.result())
            state.distribution_id, state.root_object = distribution.result()
        self.distribution_id = state.distribution_id
        return state

    def head(self, key: str) -> dict[str, str]:
        reply = self.s3.head_object(Bucket=self.bucket, Key=self.prefix + key, aws_retry=True)
        return {
            "content_type": reply.get("ContentType", ""),
            "cache_control": reply.get("CacheControl", ""),
            "content_encoding": reply.get("ContentEncoding", ""),
        }

    def remote_headers(
        self, local: dict[str, LocalFile], remote: dict[str, RemoteObject], manifest: dict
    ) -> dict[str, dict[str, str]]:
        keys = [key for key, item in local.items() if needs_head(item, remote.get(key), manifest["objects"].get(key))]
        try:
            with ThreadPoolExecutor(max_workers=self.workers) as pool:
                return dict(zip(keys, pool.map(self.head, keys), strict=True))
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
            self.module.fail_json_aws(e, msg="Could not read the headers of existing objects")

    # ------------------------------------------------------------ writing

    def upload(self, item: LocalFile) -> str:
        extra: dict[str, Any] = {"ContentType": item.content_type}
        if item.cache_control:
            extra["CacheControl"] = item.cache_control
        if item.content_encoding:
            extra["ContentEncoding"] = item.content_encoding
        with open(item.path, "rb") as body:
            reply = self.s3.put_object(
                Bucket=self.bucket,
                Key=self.prefix + item.key,
                Body=body,
                ContentMD5=item.content_md5,
                aws_retry=True,
                **extra,
            )
        return normalize_etag(reply["ETag"])

    def upload_all(self, local: dict[str, LocalFile], plan: Plan) -> list[str]:
        """Upload the plan's keys; record their ETags in the plan's manifest; return the failures."""
        failures: list[str] = []

        def one(key: str) -> tuple[str, str | None, str]:
            try:
                return key, self.upload(local[key]), ""
            except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError, OSError) as e:
                return key, None, str(e)

        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            for key, etag, error in pool.map(one, plan.upload):
                if etag is None:
                    failures.append(f"{key}: {error}")
                    plan.manifest["objects"].pop(key, None)
                else:
                    plan.manifest["objects"][key]["etag"] = etag
        return failures

    def delete_all(self, keys: list[str]) -> list[str]:
        failures = []
        for start in range(0, len(keys), DELETE_BATCH):
            batch = [{"Key": self.prefix + key} for key in keys[start : start + DELETE_BATCH]]
            try:
                reply = self.s3.delete_objects(
                    Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True}, aws_retry=True
                )
            except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
                failures.extend(f"{item['Key']}: {e}" for item in batch)
                continue
            failures.extend(f"{err['Key']}: {err.get('Message', err.get('Code'))}" for err in reply.get("Errors", []))
        return failures

    def write_manifest(self, manifest: dict) -> None:
        try:
            self.s3.put_object(
                Bucket=self.bucket,
                Key=self.manifest_key,
                Body=dump_manifest(manifest),
                ContentType="application/gzip",
                CacheControl="no-store",
                aws_retry=True,
            )
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
            self.module.fail_json_aws(e, msg=f"Could not write the publish manifest {self.manifest_key}")

    def invalidate(self, paths: list[str], generation: int) -> dict[str, str]:
        reference = f"s3_static_sync-{generation}-{uuid.uuid4().hex}"
        reply = self.cloudfront.create_invalidation(
            DistributionId=self.distribution_id,
            InvalidationBatch={"Paths": {"Quantity": len(paths), "Items": paths}, "CallerReference": reference},
            aws_retry=True,
        )["Invalidation"]
        return {"id": reply["Id"], "status": reply["Status"], "caller_reference": reference}

    def wait_for(self, invalidation: dict[str, str]) -> dict[str, str]:
        deadline = time.monotonic() + self.params["wait_timeout"]
        while invalidation["status"].lower() != "completed":
            if time.monotonic() > deadline:
                timeout = self.params["wait_timeout"]
                self.module.fail_json(
                    msg=f"The invalidation {invalidation['id']} did not complete within {timeout} s",
                    invalidation=invalidation,
                )
            time.sleep(5)
            try:
                reply = self.cloudfront.get_invalidation(
                    DistributionId=self.distribution_id, Id=invalidation["id"], aws_retry=True
                )
            except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
                self.module.fail_json_aws(e, msg=f"Could not read the invalidation {invalidation['id']}")
            invalidation = {**invalidation, "status": reply["Invalidation"]["Status"]}
        return invalidation


def plan_diff(plan: Plan, local: dict[str, LocalFile], remote: dict[str, RemoteObject]) -> dict[str, str]:
    """Before: the objects the publish replaces or deletes; after: what it uploads."""
    before = [f"{key}  etag={normalize_etag(remote[key].etag)}" for key in sorted(plan.replaced + plan.delete)]
    after = [
        f"{key}  md5={local[key].md5}  {local[key].content_type}  cache-control: {local[key].cache_control}"
        for key in sorted(plan.upload)
    ]
    return {
        "before_header": "objects replaced or deleted",
        "after_header": "objects uploaded",
        "before": "".join(line + "\n" for line in before),
        "after": "".join(line + "\n" for line in after),
    }


def main() -> None:
    argument_spec = dict(
        bucket=dict(type="str", required=True),
        account_id=dict(type="str"),
        src=dict(type="path", required=True),
        prefix=dict(type="str", default=""),
        cache_rules=dict(
            type="list",
            elements="dict",
            options=dict(pattern=dict(type="str", required=True), cache_control=dict(type="str", required=True)),
        ),
        content_types=dict(type="dict", default={}),
        precompressed=dict(type="str", choices=["none", "gzip", "br"], default="none"),
        keep_builds=dict(type="int", default=2),
        keep_days=dict(type="int", default=0),
        distribution_id=dict(type="str"),
        distribution_comment=dict(type="str"),
        root_object=dict(type="str"),
        wait=dict(type="bool", default=False),
        wait_timeout=dict(type="int", default=900),
        parallelism=dict(type="int", default=16),
    )
    module = AWSModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    if params["prefix"] and not params["prefix"].endswith("/"):
        module.fail_json(msg=f"prefix must end with '/' (got {params['prefix']!r})")
    if params["keep_builds"] < 0 or params["keep_days"] < 0:
        module.fail_json(msg="keep_builds and keep_days must not be negative")
    rules = params["cache_rules"] if params["cache_rules"] is not None else DEFAULT_CACHE_RULES
    content_types = {
        (ext if ext.startswith(".") else "." + ext).lower(): value for ext, value in params["content_types"].items()
    }

    publisher = Publisher(module)
    try:
        state = publisher.read_state(
            lambda: scan_build(params["src"], rules, content_types, params["precompressed"], publisher.workers)
        )
    except PlanError as e:
        module.fail_json(msg=str(e), missing="build")
    except Missing as e:
        module.fail_json(msg=str(e), missing=e.what)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Could not read s3://{publisher.bucket}/{publisher.prefix} or the distribution")
    local, remote, manifest = state.local, state.remote, state.manifest
    headers = publisher.remote_headers(local, remote, manifest)
    plan = make_plan(
        local,
        remote,
        manifest,
        headers,
        now=datetime.datetime.now(datetime.UTC),
        keep_builds=params["keep_builds"],
        keep_days=params["keep_days"],
        root_object=state.root_object,
    )
    invalidate = bool(publisher.distribution_id) and bool(plan.invalidation_paths)
    changed = bool(plan.upload or plan.delete or plan.manifest_changed or invalidate)
    result: dict[str, Any] = dict(
        changed=changed,
        uploaded=plan.upload,
        deleted=plan.delete,
        kept=plan.keep,
        unchanged_count=len(plan.unchanged),
        invalidation_paths=plan.invalidation_paths,
        invalidation={},
        generation=plan.generation,
        distribution_id=publisher.distribution_id,
        manifest_key=publisher.manifest_key,
        diff=plan_diff(plan, local, remote),
    )
    if module.check_mode or not changed:
        module.exit_json(**result)

    failures = publisher.upload_all(local, plan)
    failures += publisher.delete_all(plan.delete)
    if failures:
        # Keep what did change, and the paths it needs invalidated, for the next run.
        plan.manifest["pending_invalidation"] = plan.invalidation_paths
        publisher.write_manifest(plan.manifest)
        module.fail_json(msg=f"{len(failures)} object(s) could not be published: " + "; ".join(failures[:10]), **result)
    if invalidate:
        try:
            result["invalidation"] = publisher.invalidate(plan.invalidation_paths, plan.generation)
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
            # The next run retries these paths.
            plan.manifest["pending_invalidation"] = plan.invalidation_paths
            publisher.write_manifest(plan.manifest)
            module.fail_json_aws(e, msg="Could not create the CloudFront invalidation; the next run retries it")
    publisher.write_manifest(plan.manifest)
    if invalidate and params["wait"]:
        result["invalidation"] = publisher.wait_for(result["invalidation"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
