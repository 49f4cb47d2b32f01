"""playbooks/publish_static.yml (roles/static_site, library/s3_static_sync.py) against a moto server.

Each test makes the static bucket and a CloudFront distribution the way provisioning does (the
bucket by name, the distribution by its Comment), copies the example Vite build, and publishes it
with ansible-playbook -i inventories/local. What is checked is what a user sees: the objects and
their headers in the bucket, the invalidations CloudFront holds, the AWS calls that write.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from tests.support.naming import static_bucket
from tests.support.playbook import REPO, PlaybookRun, run_playbook
from tests.support.requests import AwsRequest, writes

BUCKET = static_bucket("mensetsu-local")
COMMENT = "mensetsu-local static site"
EXAMPLE = REPO / "examples" / "web" / "dist"
CSS = "assets/index-1JvdADNa.css"
IMMUTABLE = "public, max-age=31536000, immutable"
SHORT = "public, max-age=300"
# What a browser receives for each file of the example build: Content-Type, Cache-Control.
EXPECTED_HEADERS = {
    "index.html": ("text/html; charset=utf-8", "no-cache"),
    CSS: ("text/css; charset=utf-8", IMMUTABLE),
    "assets/index-QHo2irMb.js": ("text/javascript; charset=utf-8", IMMUTABLE),
    "assets/index-QHo2irMb.js.map": ("application/json", IMMUTABLE),
    "assets/logo-5jUSKvvG.svg": ("image/svg+xml", IMMUTABLE),
    "favicon.svg": ("image/svg+xml", SHORT),
    "manifest.webmanifest": ("application/manifest+json", SHORT),
    "robots.txt": ("text/plain; charset=utf-8", SHORT),
}
MANIFEST_PREFIX = ".deploy/"
S3_ORIGIN = {"OriginAccessIdentity": ""}  # an OAC origin: no legacy identity

pytestmark = pytest.mark.stack  # publishes to a bucket and distribution on moto, several runs: not in make test-fast


@dataclass
class Publish:
    run: PlaybookRun
    report: dict


def report_of(run: PlaybookRun) -> dict:
    """The role's "Report the publish" message (the run prints results as JSON)."""
    task = run.output.index("TASK [static_site : Report the publish]")
    start = run.output.index("=> {", task) + 3
    result, _ = json.JSONDecoder().raw_decode(run.output, start)
    return result["msg"]


def object_puts(requests: list[AwsRequest]) -> list[str]:
    """The site keys (not the manifest) that the recorded requests wrote to the bucket."""
    keys = []
    for request in writes(requests):
        path = unquote(urlparse(request.url).path)
        if request.service == "s3" and request.method == "PUT" and path.startswith(f"/{BUCKET}/"):
            key = path[len(BUCKET) + 2 :]
            if not key.startswith(MANIFEST_PREFIX):
                keys.append(key)
    return sorted(keys)


class Site:
    """The bucket, the distribution and a build directory a frontend team would publish."""

    def __init__(self, aws, boto, build: Path) -> None:
        self.aws = aws
        self.s3 = boto("s3")
        self.cloudfront = boto("cloudfront", "us-east-1")
        self.build = build
        shutil.copytree(EXAMPLE, build)
        self.distribution_id = ""

    def create_bucket(self) -> None:
        self.s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})

    def create_distribution(self) -> None:
        origin = f"{BUCKET}.s3.ap-northeast-1.amazonaws.com"
        config = {
            "CallerReference": "static-site-test",
            "Comment": COMMENT,
            "Enabled": True,
            "DefaultRootObject": "index.html",
            "Origins": {"Quantity": 1, "Items": [{"Id": "static", "DomainName": origin, "S3OriginConfig": S3_ORIGIN}]},
            "DefaultCacheBehavior": {
                "TargetOriginId": "static",
                "ViewerProtocolPolicy": "redirect-to-https",
                "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6",
            },
        }
        tags = {"Items": [{"Key": "Project", "Value": "mensetsu"}, {"Key": "Environment", "Value": "local"}]}
        reply = self.cloudfront.create_distribution_with_tags(
            DistributionConfigWithTags={"DistributionConfig": config, "Tags": tags}
        )
        self.distribution_id = reply["Distribution"]["Id"]

    def publish(self, check: bool = False, diff: bool = False, **extra_vars) -> Publish:
        run = self.run(check=check, diff=diff, **extra_vars)
        assert run.returncode == 0, str(run)
        return Publish(run=run, report=report_of(run))

    def run(self, check: bool = False, diff: bool = False, **extra_vars) -> PlaybookRun:
        return run_playbook(
            "playbooks/publish_static.yml",
            env={"ANSIBLE_CALLBACK_RESULT_FORMAT": "json"},
            extra_vars={"static_build_dir": str(self.build), **extra_vars},
            check=check,
            diff=diff,
        )

    def listed(self) -> list[str]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
        found = [item["Key"] for page in pages for item in page.get("Contents", [])]
        return sorted(key for key in found if not key.startswith(MANIFEST_PREFIX))

    def headers(self, key: str) -> tuple[str, str]:
        reply = self.s3.head_object(Bucket=BUCKET, Key=key)
        return reply["ContentType"], reply.get("CacheControl", "")

    def body(self, key: str) -> bytes:
        return self.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()

    def invalidations(self) -> list[list[str]]:
        listing = self.cloudfront.list_invalidations(DistributionId=self.distribution_id)["InvalidationList"]
        batches = []
        for item in listing.get("Items", []):
            reply = self.cloudfront.get_invalidation(DistributionId=self.distribution_id, Id=item["Id"])
            batches.append(sorted(reply["Invalidation"]["InvalidationBatch"]["Paths"].get("Items", [])))
        return batches

    def restyle(self, css: str = CSS) -> str:
        """A new build as Vite makes it: the changed stylesheet gets a new hashed name and
        index.html points at it. Returns the new stylesheet's key."""
        old = self.build / css
        body = old.read_bytes() + b"h1{letter-spacing:.02em}\n"
        new = f"assets/index-{hashlib.sha256(body).hexdigest()[:8]}.css"
        (self.build / new).write_bytes(body)
        old.unlink()
        index = self.build / "index.html"
        index.write_text(index.read_text().replace(css.removeprefix("assets/"), new.removeprefix("assets/")))
        return new


@pytest.fixture
def site(aws, boto, tmp_path: Path) -> Site:
    site = Site(aws, boto, tmp_path / "dist")
    site.create_bucket()
    site.create_distribution()
    return site


def test_first_publish_uploads_everything_with_the_content_type_and_cache_control_of_its_rule(site: Site) -> None:
    first = site.publish()

    assert first.run.changed == 1
    assert site.listed() == sorted(EXPECTED_HEADERS)
    assert {key: site.headers(key) for key in EXPECTED_HEADERS} == EXPECTED_HEADERS
    assert site.body("index.html") == (site.build / "index.html").read_bytes()
    assert first.report["uploaded"] == sorted(EXPECTED_HEADERS)
    # Nothing was cached before the first publish: there is nothing to invalidate.
    assert first.report["invalidation_paths"] == []
    assert site.invalidations() == []


def test_unchanged_rerun_and_its_check_upload_nothing_create_no_invalidation_and_report_no_change(site: Site) -> None:
    site.publish()

    with site.aws.recording_requests() as requests:
        again = site.publish()
        checked = site.publish(check=True)

    assert again.run.changed == 0, str(again.run)
    assert checked.run.changed == 0, str(checked.run)
    assert again.report["uploaded"] == checked.report["uploaded"] == []
    assert again.report["unchanged_count"] == len(EXPECTED_HEADERS)
    assert [str(request) for request in writes(requests)] == []
    assert site.invalidations() == []


def test_new_build_uploads_the_changed_asset_and_index_html_and_invalidates_only_index_html(site: Site) -> None:
    site.publish()
    new_css = site.restyle()

    with site.aws.recording_requests() as requests:
        release = site.publish()

    assert release.report["uploaded"] == [new_css, "index.html"]
    assert object_puts(requests) == [new_css, "index.html"]
    assert site.headers(new_css) == ("text/css; charset=utf-8", IMMUTABLE)
    assert new_css.removeprefix("assets/").encode() in site.body("index.html")
    # One invalidation, for index.html only: "/" is the same object (the distribution's default
    # root object, cached under "/" as well). The fingerprinted stylesheet is never invalidated.
    assert site.invalidations() == [["/", "/index.html"]]
    assert release.report["invalidation_paths"] == ["/", "/index.html"]


def test_removed_asset_survives_the_next_publishes_and_goes_after_the_grace_rule(site: Site) -> None:
    site.publish()
    second_css = site.restyle()

    second = site.publish()
    assert CSS in site.listed(), "an old index.html still references the first build's stylesheet"
    assert second.report["kept"] == [CSS]
    assert second.report["deleted"] == []

    rerun = site.publish()
    assert rerun.run.changed == 0, "re-running the same build must not count as a publish"

    third_css = site.restyle(second_css)
    third = site.publish()
    assert sorted(third.report["kept"]) == sorted([CSS, second_css]), "the previous two builds' assets stay"
    assert third.report["deleted"] == []

    fourth_css = site.restyle(third_css)
    fourth = site.publish()
    assert fourth.report["deleted"] == [CSS]
    assert sorted(fourth.report["kept"]) == sorted([second_css, third_css])
    assert CSS not in site.listed()
    assert {second_css, third_css, fourth_css} <= set(site.listed())
    # Deleting a fingerprinted asset needs no invalidation: each release invalidated index.html only.
    assert site.invalidations() == [["/", "/index.html"]] * 3


def test_check_mode_reports_the_same_plan_and_writes_nothing(site: Site) -> None:
    with site.aws.recording_requests() as requests:
        planned = site.publish(check=True)
    assert planned.run.changed == 1
    assert planned.report["uploaded"] == sorted(EXPECTED_HEADERS)
    assert [str(request) for request in writes(requests)] == []
    assert site.listed() == []

    assert site.publish().report["uploaded"] == planned.report["uploaded"]
    new_css = site.restyle()

    with site.aws.recording_requests() as requests:
        planned = site.publish(check=True, diff=True)
    assert [str(request) for request in writes(requests)] == []
    assert planned.run.changed == 1
    assert f"+{new_css}  md5=" in planned.run.output
    assert "-index.html  etag=" in planned.run.output
    assert site.invalidations() == []
    assert CSS in site.listed() and new_css not in site.listed()

    done = site.publish()
    for field in ("uploaded", "deleted", "kept", "invalidation_paths"):
        assert done.report[field] == planned.report[field], field
    assert site.invalidations() == [done.report["invalidation_paths"]]


def test_missing_bucket_or_distribution_fails_naming_the_variable(aws, boto, tmp_path: Path) -> None:
    site = Site(aws, boto, tmp_path / "dist")

    no_bucket = site.run()
    assert no_bucket.returncode != 0
    assert f"The bucket {BUCKET} does not exist. static_bucket_name: provision the platform" in no_bucket.output

    site.create_bucket()
    no_distribution = site.run()
    assert no_distribution.returncode != 0
    assert f"0 CloudFront distributions have the comment '{COMMENT}'; exactly one must." in no_distribution.output
    assert "static_site_distribution_id: provision the platform first" in no_distribution.output

    site.create_distribution()
    wrong_id = site.run(static_site_distribution_id="E0000000000000")
    assert wrong_id.returncode != 0
    assert "The CloudFront distribution E0000000000000 does not exist. static_site_distribution_id:" in wrong_id.output
    assert site.listed() == []


def test_a_bucket_of_the_name_another_account_holds_gets_nothing(aws, boto, tmp_path: Path) -> None:
    """Bucket names are global: another account (the emulator tells accounts apart by the
    x-moto-account-id header) holds static_bucket_name and lets anyone write to it. Every request of
    the publish carries S3's bucket owner condition, which that bucket answers with 403 (as on AWS;
    tests/support/moto_aws.py, moto ignores it): the run stops naming the setting and uploads nothing."""
    site = Site(aws, boto, tmp_path / "dist")
    site.create_distribution()
    squatter = aws.other_account_client("s3", "210987654321")
    squatter.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})

    with aws.recording_requests() as requests:
        run = site.run()
    assert run.returncode != 0
    message = " ".join(run.output.split())
    assert f"The bucket {BUCKET} answers 403 to account 123456789012 under S3's bucket owner condition" in message
    assert "static_bucket_name: not this account's bucket" in message, run.output[-2000:]
    assert object_puts(requests) == [] and writes(requests) == [], [str(request) for request in writes(requests)]
    assert squatter.list_objects_v2(Bucket=BUCKET).get("KeyCount", 0) == 0
    # An upload itself, had the listing not stopped the run, is refused under the condition too (as on AWS).
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as refused:
        aws.client("s3").put_object(Bucket=BUCKET, Key="index.html", Body=b"x", ExpectedBucketOwner="123456789012")
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    assert squatter.list_objects_v2(Bucket=BUCKET).get("KeyCount", 0) == 0
