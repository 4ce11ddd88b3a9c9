"""The lifecycle of a versioned bucket whose objects only expire: the access logs, the canary's results."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_s3 as s3


def expire_after(rule_id: str, days: int, *, noncurrent_days: int) -> list[s3.LifecycleRule]:
    """Objects expire after ``days``; one overwritten or deleted stays recoverable ``noncurrent_days``;
    unfinished uploads go after a day, and the delete markers expiry leaves behind go too."""
    return [
        s3.LifecycleRule(
            id=rule_id,
            expiration=cdk.Duration.days(days),
            noncurrent_version_expiration=cdk.Duration.days(noncurrent_days),
            abort_incomplete_multipart_upload_after=cdk.Duration.days(1),
        ),
        s3.LifecycleRule(id="RemoveExpiredDeleteMarkers", expired_object_delete_marker=True),
    ]
