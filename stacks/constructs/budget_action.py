"""The budget action: AWS Budgets' notification of 100 % actually spent goes to a topic of its own, whose
function turns the stage's kill switch on and tells on-call (lambda_src/handlers/budget_action.py).

SNS invokes the function asynchronously: an event it still fails on after Lambda's retries lands in a
dead-letter queue, and both that queue and the function's errors alarm on the on-call topic, so a budget
action that did not happen is never silent."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from stacks.config import StageConfig
from stacks.constructs.alarm_topic import allow_service_to_use_key
from stacks.constructs.chat_function import ChatFunction, build_id
from stacks.constructs.cost_budget import allow_budgets_to_publish
from stacks.constructs.log_encryption import LogKey
from stacks.constructs.runtime_controls import RuntimeControls
from stacks.nag import acknowledge

FIVE_MINUTES = cdk.Duration.minutes(5)


class BudgetAction(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        key: kms.IKey,
        alarm_topic: sns.ITopic,
        runtime_controls: RuntimeControls,
        log_key: LogKey,
    ) -> None:
        super().__init__(scope, construct_id)
        # The alarm topic's key, whose policy already lets this account's budgets encrypt with it.
        self.topic = sns.Topic(
            self,
            "LimitReached",
            display_name=f"Chatbot {config.name} budget limit reached",
            master_key=key,
            enforce_ssl=True,
        )
        allow_budgets_to_publish(self.topic)
        self.dead_letters = sqs.Queue(
            self,
            "Failed",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=key,
            enforce_ssl=True,
            retention_period=cdk.Duration.days(14),
        )
        # SNS moves an undeliverable notification into this queue, encrypting it with the key.
        allow_service_to_use_key(key, "AllowSnsToUseTheKeyForTheBudgetActionsDeadLetters", "sns")
        acknowledge(
            self.dead_letters,
            "Serverless-SQSRedrivePolicy",
            "This queue is itself the dead-letter queue of the budget action (its SNS subscription and its "
            "function); its depth alarms on the on-call topic, and a DLQ of it would only move the event "
            "one hop further.",
        )
        pause = ChatFunction(
            self,
            "Pause",
            config=config,
            handler="lambda_src.handlers.budget_action.handler",
            description="Chatbot: turns the kill switch on when the monthly budget is spent",
            environment={
                "STAGE": config.name,
                "BUILD_ID": build_id(),
                "RUNTIME_CONTROLS_PARAMETER": runtime_controls.parameter.parameter_name,
                "ALARM_TOPIC_ARN": alarm_topic.topic_arn,
                "POWERTOOLS_SERVICE_NAME": "chatbot-budget-action",
                "POWERTOOLS_TRACE_DISABLED": "true",
            },
            log_key=log_key,
            timeout_seconds=30,
            reserved_concurrency=1,
            dead_letter_queue=self.dead_letters,
        )
        self.function = pause.function
        runtime_controls.grant_write(self.function)
        alarm_topic.grant_publish(self.function)
        acknowledge(
            pause.policy,
            "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]",
            "The operations key only, which encrypts the on-call topic it publishes to and its own "
            "dead-letter queue: SNS and SQS need data-key generation to encrypt a message.",
        )
        self.topic.add_subscription(
            subscriptions.LambdaSubscription(self.function, dead_letter_queue=self.dead_letters)
        )
        self.alarms = [
            self._alarm(
                "Errors",
                self.function.metric_errors(period=FIVE_MINUTES, statistic="Sum"),
                "The budget action failed: the monthly budget is spent and the kill switch may not be on. "
                "Turn it on by hand (docs/runbooks/cost-spike.md).",
            ),
            self._alarm(
                "DeadLetters",
                self.dead_letters.metric_approximate_number_of_messages_visible(
                    period=FIVE_MINUTES, statistic="Maximum"
                ),
                "A budget notification the budget action could not handle is in its dead-letter queue: "
                "the kill switch may not be on (docs/runbooks/cost-spike.md).",
            ),
        ]
        action = cw_actions.SnsAction(alarm_topic)
        for alarm in self.alarms:
            alarm.add_alarm_action(action)
            alarm.add_ok_action(action)

    def _alarm(self, construct_id: str, metric: cloudwatch.IMetric, description: str) -> cloudwatch.Alarm:
        return cloudwatch.Alarm(
            self,
            construct_id,
            metric=metric,
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
