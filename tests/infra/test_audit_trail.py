"""The audit trail where config asks for one (prod): every region's management events and the
conversation table's data events, validated, into a locked, encrypted bucket whose reads are logged."""

from __future__ import annotations

from typing import Any

import pytest

from tests.infra.conftest import SynthesizedStage


def _one(stage: SynthesizedStage, resource_type: str, prefix: str) -> tuple[str, Any]:
    (found,) = [(i, r) for i, r in stage.data.find_resources(resource_type).items() if i.startswith(prefix)]
    return found


def test_config_asks_for_a_trail_in_prod_only(synthesized: dict[str, SynthesizedStage]) -> None:
    for name, stage in synthesized.items():
        trails = stage.data.find_resources("AWS::CloudTrail::Trail")
        assert len(trails) == (1 if name == "prod" else 0), name
        assert bool(trails) == bool(stage.config.audit_trail_retention_days)


@pytest.fixture
def prod(synthesized: dict[str, SynthesizedStage]) -> SynthesizedStage:
    return synthesized["prod"]


def test_the_trail_records_every_regions_management_events_and_the_tables_data_events(
    prod: SynthesizedStage,
) -> None:
    _, trail = _one(prod, "AWS::CloudTrail::Trail", "AuditTrail")
    props = trail["Properties"]
    assert props["IsMultiRegionTrail"] is True
    assert props["IncludeGlobalServiceEvents"] is True
    assert props["EnableLogFileValidation"] is True
    assert "EventSelectors" not in props  # advanced selectors only
    management, data = props["AdvancedEventSelectors"]
    assert management["FieldSelectors"] == [{"Field": "eventCategory", "Equals": ["Management"]}]
    fields = {f["Field"]: f["Equals"] for f in data["FieldSelectors"]}
    assert fields["eventCategory"] == ["Data"]
    assert fields["resources.type"] == ["AWS::DynamoDB::Table"]
    assert fields["resources.ARN"] == [{"Fn::GetAtt": ["ConversationsTable05F75AD7", "Arn"]}]
    assert "CloudWatchLogsLogGroupArn" in props


def test_log_files_are_encrypted_locked_for_the_retention_and_their_reads_logged(
    prod: SynthesizedStage,
) -> None:
    key_id, key = _one(prod, "AWS::KMS::Key", "AuditTrailKey")
    bucket_id, bucket = _one(prod, "AWS::S3::Bucket", "AuditTrailLogs")
    access_id, _ = _one(prod, "AWS::S3::Bucket", "AuditTrailAccessLogs")
    _, trail = _one(prod, "AWS::CloudTrail::Trail", "AuditTrail")
    props = bucket["Properties"]

    assert trail["Properties"]["S3BucketName"] == {"Ref": bucket_id}
    assert trail["Properties"]["KMSKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert props["ObjectLockConfiguration"]["Rule"]["DefaultRetention"] == {
        "Mode": "COMPLIANCE",
        "Days": prod.config.audit_trail_retention_days,
    }
    (encryption,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert "BucketKeyEnabled" not in encryption  # a bucket key would also need kms:Decrypt for CloudTrail
    assert encryption["ServerSideEncryptionByDefault"]["KMSMasterKeyID"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert props["LoggingConfiguration"]["DestinationBucketName"] == {"Ref": access_id}
    assert bucket["DeletionPolicy"] == "Retain"
    assert key["DeletionPolicy"] == "Retain"
    assert key["Properties"]["EnableKeyRotation"] is True


def test_only_this_accounts_trails_may_encrypt_with_the_key(prod: SynthesizedStage) -> None:
    _, key = _one(prod, "AWS::KMS::Key", "AuditTrailKey")
    statements = key["Properties"]["KeyPolicy"]["Statement"]
    trail = {"Service": "cloudtrail.amazonaws.com"}
    by_action = {str(s["Action"]): s for s in statements if s.get("Principal") == trail}
    assert set(by_action) == {"kms:GenerateDataKey*", "kms:DescribeKey"}
    # encrypting needs this account's trail as the encryption context; describing carries none
    encrypt, describe = by_action["kms:GenerateDataKey*"], by_action["kms:DescribeKey"]
    assert encrypt["Condition"]["StringEquals"] == {"aws:SourceAccount": prod.config.account}
    assert "trail/*" in str(encrypt["Condition"]["StringLike"]["kms:EncryptionContext:aws:cloudtrail:arn"])
    assert describe["Condition"] == {"StringEquals": {"aws:SourceAccount": prod.config.account}}


def test_no_other_accounts_trail_may_write_into_the_bucket(prod: SynthesizedStage) -> None:
    bucket_id, _ = _one(prod, "AWS::S3::Bucket", "AuditTrailLogs")
    (policy,) = prod.data.find_resources(
        "AWS::S3::BucketPolicy", {"Properties": {"Bucket": {"Ref": bucket_id}}}
    ).values()
    (deny,) = [
        s
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s.get("Sid") == "DenyOtherAccountsTrails"
    ]
    assert deny["Effect"] == "Deny"
    assert deny["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
    assert deny["Condition"] == {"StringNotEquals": {"aws:SourceAccount": prod.config.account}}
