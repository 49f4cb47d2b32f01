"""CloudFront state the tests put in the emulated account beside the platform's own."""

from __future__ import annotations

# The managed CachingOptimized cache policy (the same id in every account).
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"


def other_projects_distribution(cloudfront, number: int) -> str:
    """Somebody else's distribution in the same account (another project's); returns its id."""
    origin = {
        "Id": "other",
        "DomainName": f"other-{number}.s3.amazonaws.com",
        "S3OriginConfig": {"OriginAccessIdentity": ""},
    }
    config = {
        "CallerReference": f"other-project-{number}",
        "Comment": f"other project {number}",
        "Enabled": True,
        "Origins": {"Quantity": 1, "Items": [origin]},
        "DefaultCacheBehavior": {
            "TargetOriginId": "other",
            "ViewerProtocolPolicy": "allow-all",
            "CachePolicyId": CACHING_OPTIMIZED,
        },
    }
    return cloudfront.create_distribution(DistributionConfig=config)["Distribution"]["Id"]
