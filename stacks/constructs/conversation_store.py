"""The conversation table: sessions and their transcripts, quota counters, cached answers, jobs and
idempotency records in one table (where each lives: lambda_src/chat/keys.py), and the sessions index
that lists a client's sessions (GET /conversations)."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from constructs import Construct

from lambda_src.chat import keys

PARTITION_KEY = "pk"
SORT_KEY = "sk"
TTL_ATTRIBUTE = "expiresAt"
# What GET /conversations shows of a session; the index holds only sessions' state items (the only
# items with the index's keys), never message text.
SESSIONS_INDEX_ATTRIBUTES = ["sessionId", "createdAtMs", TTL_ATTRIBUTE]


class ConversationStore(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        key: kms.IKey,
        removal_policy: cdk.RemovalPolicy,
        deletion_protection: bool,
    ) -> None:
        super().__init__(scope, construct_id)
        self.table = dynamodb.TableV2(
            self,
            "Table",
            partition_key=dynamodb.Attribute(name=PARTITION_KEY, type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name=SORT_KEY, type=dynamodb.AttributeType.STRING),
            billing=dynamodb.Billing.on_demand(),
            encryption=dynamodb.TableEncryptionV2.customer_managed_key(key),
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            time_to_live_attribute=TTL_ATTRIBUTE,
            deletion_protection=deletion_protection,
            removal_policy=removal_policy,
            global_secondary_indexes=[
                dynamodb.GlobalSecondaryIndexPropsV2(
                    index_name=keys.SESSIONS_INDEX,
                    partition_key=dynamodb.Attribute(
                        name=keys.SESSION_OWNER, type=dynamodb.AttributeType.STRING
                    ),
                    sort_key=dynamodb.Attribute(name=keys.LAST_ACTIVE, type=dynamodb.AttributeType.NUMBER),
                    projection_type=dynamodb.ProjectionType.INCLUDE,
                    non_key_attributes=SESSIONS_INDEX_ATTRIBUTES,
                )
            ],
        )
