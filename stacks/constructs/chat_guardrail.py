"""The stage's Amazon Bedrock guardrail, a published version of it, and what the handlers need to apply it
to every message and reply (lambda_src/chat/guardrail.py): its id and version in their environment, and
bedrock:ApplyGuardrail on this guardrail only.

A version is immutable. Its description carries a fingerprint of the policy, so that a changed policy
replaces the version resource: CloudFormation publishes a new version from the updated guardrail, points
the functions at it, then deletes the old one.
"""

from __future__ import annotations

import hashlib
import json

import aws_cdk as cdk
from aws_cdk import aws_bedrock as bedrock
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from stacks.config_guardrail import GuardrailConfig
from stacks.constructs.chat_alarms import threshold_alarm

FIVE_MINUTES = cdk.Duration.minutes(5)
# Checks that found Bedrock unable to answer, in 5 minutes, that page on-call: each one is a turn refused
# (failing closed) or answered unchecked (failing open).
UNAVAILABLE_PER_5_MINUTES = 5


class ChatGuardrail(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: GuardrailConfig, stage_name: str
    ) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        pii = [
            bedrock.CfnGuardrail.PiiEntityConfigProperty(
                type=rule.type,
                action=rule.action,
                input_action=rule.action,
                output_action=rule.action,
                input_enabled=config.pii_on_input(rule),
                output_enabled=True,
            )
            for rule in config.pii
        ]
        words = [bedrock.CfnGuardrail.WordConfigProperty(text=word) for word in config.blocked_words]
        managed = (
            [bedrock.CfnGuardrail.ManagedWordsConfigProperty(type="PROFANITY")]
            if config.profanity_filter
            else []
        )
        topics = [
            bedrock.CfnGuardrail.TopicConfigProperty(
                name=topic.name, definition=topic.definition, examples=list(topic.examples), type="DENY"
            )
            for topic in config.denied_topics
        ]
        guardrail = bedrock.CfnGuardrail(
            self,
            "Guardrail",
            # Bedrock requires a name, unique in the account and region: the stack's name is.
            name=f"{cdk.Stack.of(self).stack_name}-guardrail"[:50],
            description=f"Chatbot {stage_name}: applied to every message and reply, whatever the provider",
            blocked_input_messaging=config.blocked_input_message,
            blocked_outputs_messaging=config.blocked_output_message,
            content_policy_config=bedrock.CfnGuardrail.ContentPolicyConfigProperty(
                filters_config=[
                    bedrock.CfnGuardrail.ContentFilterConfigProperty(
                        type=f.type, input_strength=f.input_strength, output_strength=f.output_strength
                    )
                    for f in config.content_filters
                ]
            )
            if config.content_filters
            else None,
            sensitive_information_policy_config=bedrock.CfnGuardrail.SensitiveInformationPolicyConfigProperty(
                pii_entities_config=pii
            )
            if pii
            else None,
            topic_policy_config=bedrock.CfnGuardrail.TopicPolicyConfigProperty(topics_config=topics)
            if topics
            else None,
            word_policy_config=bedrock.CfnGuardrail.WordPolicyConfigProperty(
                words_config=words or None, managed_word_lists_config=managed or None
            )
            if words or managed
            else None,
        )
        version = bedrock.CfnGuardrailVersion(
            self,
            "Version",
            guardrail_identifier=guardrail.attr_guardrail_id,
            description=f"Chatbot {stage_name}: policy {self.fingerprint}",
        )
        self.guardrail = guardrail
        self.version = version
        self.guardrail_arn = guardrail.attr_guardrail_arn

    @property
    def fingerprint(self) -> str:
        """A hash of everything the guardrail is built from: a new one publishes a new version."""
        config = self._config
        material = {
            "policy": config.local_policy(),
            "filters": [(f.type, f.input_strength, f.output_strength) for f in config.content_filters],
            "topics": [(t.name, t.definition) for t in config.denied_topics],
            "profanity": config.profanity_filter,
        }
        return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()[:16]

    def environment(self) -> dict[str, str]:
        """What the handlers read (lambda_src/chat/settings.py)."""
        return {
            "GUARDRAIL_ID": self.guardrail.attr_guardrail_id,
            "GUARDRAIL_VERSION": self.version.attr_version,
            **self._config.runtime_environment(),
        }

    def grant_apply(self, function: lambda_.IFunction) -> None:
        function.add_to_role_policy(
            iam.PolicyStatement(actions=["bedrock:ApplyGuardrail"], resources=[self.guardrail_arn])
        )

    def watch(self, *, metrics_namespace: str, action: cloudwatch.IAlarmAction) -> cloudwatch.Alarm:
        """An alarm when Bedrock stops answering the guardrail's checks."""
        return threshold_alarm(
            self,
            "GuardrailUnavailable",
            metric=cloudwatch.Metric(
                namespace=metrics_namespace,
                metric_name="GuardrailUnavailable",
                dimensions_map={"service": "chatbot"},
                statistic="Sum",
                period=FIVE_MINUTES,
            ),
            threshold=UNAVAILABLE_PER_5_MINUTES,
            description=(
                f"The guardrail gave no verdict {UNAVAILABLE_PER_5_MINUTES}+ times in 5 minutes: turns are "
                + ("answered unchecked" if self._config.fail_open else "refused with 503")
                + " (docs/runbooks/guardrail-unavailable.md)"
            ),
            action=action,
        )
