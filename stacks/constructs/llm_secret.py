"""The LLM provider's API key. Its value is put in by an operator, never by a template."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from stacks.nag import HIPAA, NIST, acknowledge, acknowledge_rules


class LlmApiKeySecret(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, key: kms.IKey, removal_policy: cdk.RemovalPolicy
    ) -> None:
        super().__init__(scope, construct_id)
        # With no value given, Secrets Manager generates a random one at deploy time: a stand-in that
        # the provider rejects until an operator puts the real key in (README: "Put the LLM key in").
        self.secret = secretsmanager.Secret(
            self,
            "Secret",
            description="API key of the OpenAI-compatible LLM provider used by the chat handler",
            encryption_key=key,
            removal_policy=removal_policy,
        )
        by_hand = (
            "The LLM key is issued in the provider's console and cannot be rotated by a rotation "
            "Lambda; operators rotate it by hand (put-secret-value) and the handler picks it up within "
            "its cache age (5 minutes)."
        )
        acknowledge(self.secret, "AwsSolutions-SMG4", by_hand)
        acknowledge_rules(self.secret, "SecretsManagerRotationEnabled", (NIST, HIPAA), by_hand)
