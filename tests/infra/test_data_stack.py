"""The stateful stack: encryption, retention and the logical IDs that must never change."""

from __future__ import annotations

import json

from aws_cdk.assertions import Match

from scripts import local_aws
from tests.infra.conftest import SynthesizedStage, only_resource

# Renaming a construct would give these resources new logical IDs and make CloudFormation replace
# them: a new, empty table and a new key. Change this list only with a migration plan.
PINNED_LOGICAL_IDS = {
    "AWS::KMS::Key": "DataKey17AFBB84",
    "AWS::DynamoDB::GlobalTable": "ConversationsTable05F75AD7",
    "AWS::SecretsManager::Secret": "LlmApiKeySecretB5D3577E",
    # A replaced parameter would come back empty: an operator's kill switch, undone.
    "AWS::SSM::Parameter": "RuntimeControlsParameterA0413BA0",
}


# People's accounts, where a stage has browser sign-in.
PINNED_USER_POOL_ID = "UsersUserPool7E610616"


def test_stateful_resources_keep_their_logical_ids(stage: SynthesizedStage) -> None:
    for resource_type, logical_id in PINNED_LOGICAL_IDS.items():
        assert logical_id in stage.data.find_resources(resource_type), resource_type
    # the other keys of this stack encrypt logs (the sign-up check's, the trail's copy) and the audit
    # trail, where there are those
    keys = set(stage.data.find_resources("AWS::KMS::Key")) - {PINNED_LOGICAL_IDS["AWS::KMS::Key"]}
    assert all(key.startswith(("LogKey", "AuditTrailKey")) for key in keys)
    pools = list(stage.data.find_resources("AWS::Cognito::UserPool"))
    assert pools == ([PINNED_USER_POOL_ID] if stage.config.browser_sign_in else [])


def test_table_expires_turns_with_ttl(stage: SynthesizedStage) -> None:
    stage.data.has_resource_properties(
        "AWS::DynamoDB::GlobalTable",
        {"TimeToLiveSpecification": {"AttributeName": "expiresAt", "Enabled": True}},
    )


def test_table_has_point_in_time_recovery(stage: SynthesizedStage) -> None:
    stage.data.has_resource_properties(
        "AWS::DynamoDB::GlobalTable",
        {
            "Replicas": [
                Match.object_like({"PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True}})
            ]
        },
    )


def test_table_is_encrypted_with_the_stage_key(stage: SynthesizedStage) -> None:
    key_id = PINNED_LOGICAL_IDS["AWS::KMS::Key"]
    stage.data.has_resource_properties(
        "AWS::DynamoDB::GlobalTable",
        {
            "SSESpecification": {"SSEEnabled": True, "SSEType": "KMS"},
            "Replicas": [
                Match.object_like({"SSESpecification": {"KMSMasterKeyId": {"Fn::GetAtt": [key_id, "Arn"]}}})
            ],
        },
    )


def test_table_keys_are_partition_and_sort(stage: SynthesizedStage) -> None:
    stage.data.has_resource_properties(
        "AWS::DynamoDB::GlobalTable",
        {
            "KeySchema": [
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            "BillingMode": "PAY_PER_REQUEST",
        },
    )


def test_the_local_table_of_tests_and_make_dev_is_the_deployed_one(stage: SynthesizedStage) -> None:
    """moto builds the table from scripts/local_aws.py: keys, attribute types and the sessions index must
    be the deployed table's, or the unit tests and the dev server test a table that does not exist."""
    _, table = only_resource(stage.data, "AWS::DynamoDB::GlobalTable")
    props = table["Properties"]
    assert props["KeySchema"] == local_aws.KEY_SCHEMA
    assert sorted(props["AttributeDefinitions"], key=str) == sorted(local_aws.ATTRIBUTES, key=str)
    (index,) = props["GlobalSecondaryIndexes"]
    assert index["IndexName"] == local_aws.SESSIONS_INDEX["IndexName"]
    assert index["KeySchema"] == local_aws.SESSIONS_INDEX["KeySchema"]
    assert index["Projection"]["ProjectionType"] == local_aws.SESSIONS_INDEX["Projection"]["ProjectionType"]
    assert sorted(index["Projection"]["NonKeyAttributes"]) == sorted(
        local_aws.SESSIONS_INDEX["Projection"]["NonKeyAttributes"]
    )


def test_the_sessions_index_never_holds_message_text(stage: SynthesizedStage) -> None:
    _, table = only_resource(stage.data, "AWS::DynamoDB::GlobalTable")
    (index,) = table["Properties"]["GlobalSecondaryIndexes"]
    assert index["Projection"]["ProjectionType"] == "INCLUDE"
    assert not {"content", "recent", "body", "result"} & set(index["Projection"]["NonKeyAttributes"])


def test_data_key_rotates(stage: SynthesizedStage) -> None:
    stage.data.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})


def test_secret_is_encrypted_with_the_stage_key_and_has_no_value_in_the_template(
    stage: SynthesizedStage,
) -> None:
    _, secret = only_resource(stage.data, "AWS::SecretsManager::Secret")
    props = secret["Properties"]
    assert props["KmsKeyId"] == {"Fn::GetAtt": [PINNED_LOGICAL_IDS["AWS::KMS::Key"], "Arn"]}
    assert "SecretString" not in props


def test_prod_keeps_its_data_when_the_stack_is_deleted(synthesized: dict[str, SynthesizedStage]) -> None:
    prod = synthesized["prod"]
    for resource_type, logical_id in PINNED_LOGICAL_IDS.items():
        resource = prod.data.find_resources(resource_type)[logical_id]
        assert resource["DeletionPolicy"] == "Retain", resource_type
        assert resource["UpdateReplacePolicy"] == "Retain", resource_type
    prod.data.has_resource_properties(
        "AWS::DynamoDB::GlobalTable",
        {"Replicas": [Match.object_like({"DeletionProtectionEnabled": True})]},
    )
    assert prod.stage.data.termination_protection is True


def test_dev_data_follows_the_configured_removal_policy(synthesized: dict[str, SynthesizedStage]) -> None:
    dev = synthesized["dev"]
    _, table = only_resource(dev.data, "AWS::DynamoDB::GlobalTable")
    assert table["DeletionPolicy"] == "Delete"
    assert table["Properties"]["Replicas"][0].get("DeletionProtectionEnabled") in (None, False)
    assert dev.stage.data.termination_protection is False


def test_staging_and_prod_back_the_table_up_daily_into_a_vault_under_the_stage_key(
    stage: SynthesizedStage,
) -> None:
    plans = stage.data.find_resources("AWS::Backup::BackupPlan")
    if not stage.config.backup_retention_days:
        assert plans == {}
        return
    (plan,) = plans.values()
    (rule,) = plan["Properties"]["BackupPlan"]["BackupPlanRule"]
    assert rule["ScheduleExpression"] == "cron(0 3 * * ? *)"
    assert rule["Lifecycle"]["DeleteAfterDays"] == stage.config.backup_retention_days
    _, vault = only_resource(stage.data, "AWS::Backup::BackupVault")
    assert vault["Properties"]["EncryptionKeyArn"] == {
        "Fn::GetAtt": [PINNED_LOGICAL_IDS["AWS::KMS::Key"], "Arn"]
    }
    _, selection = only_resource(stage.data, "AWS::Backup::BackupSelection")
    resources = json.dumps(selection["Properties"]["BackupSelection"]["Resources"])
    assert PINNED_LOGICAL_IDS["AWS::DynamoDB::GlobalTable"] in resources


def test_dev_has_no_backup_plan(synthesized: dict[str, SynthesizedStage]) -> None:
    assert synthesized["dev"].config.backup_retention_days == 0
    assert synthesized["prod"].config.backup_retention_days >= 30
