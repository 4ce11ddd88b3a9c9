"""An AWS Budgets monthly cost budget for the stage's account, alerting the on-call topic and e-mail;
the notification of 100 % actually spent may go to a topic of its own instead (the budget action)."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_budgets as budgets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from constructs import Construct

# (notification type, percent of the limit): a forecast warns before the money is spent.
ALERTS = (("FORECASTED", 80), ("FORECASTED", 100), ("ACTUAL", 80), ("ACTUAL", 100))
LIMIT_REACHED = ("ACTUAL", 100)


def allow_budgets_to_publish(topic: sns.ITopic) -> None:
    """A topic policy statement for this account's budgets only (an SSL-only topic's policy replaces the
    default one, so nothing may publish that is not named)."""
    topic.add_to_resource_policy(
        iam.PolicyStatement(
            sid="AllowThisAccountsBudgetsToPublish",
            principals=[iam.ServicePrincipal("budgets.amazonaws.com")],
            actions=["sns:Publish"],
            resources=[topic.topic_arn],
            conditions={"StringEquals": {"aws:SourceAccount": cdk.Stack.of(topic).account}},
        )
    )


class CostBudget(Construct):
    """Account-wide: one stage per account is the layout this platform recommends (README)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: str,
        limit_usd: float,
        topic: sns.ITopic,
        emails: tuple[str, ...],
        limit_reached_topic: sns.ITopic | None = None,
    ) -> None:
        super().__init__(scope, construct_id)

        # A notification takes one SNS topic (and e-mail addresses): the budget action's topic, where there
        # is one, gets the 100 % actual notification, and its function tells on-call on their topic.
        def subscribers(kind: str, percent: int) -> list[budgets.CfnBudget.SubscriberProperty]:
            target = topic
            if limit_reached_topic is not None and (kind, percent) == LIMIT_REACHED:
                target = limit_reached_topic
            return [
                budgets.CfnBudget.SubscriberProperty(subscription_type="SNS", address=target.topic_arn),
                *(budgets.CfnBudget.SubscriberProperty(subscription_type="EMAIL", address=e) for e in emails),
            ]

        self.budget = budgets.CfnBudget(
            self,
            "Monthly",
            budget=budgets.CfnBudget.BudgetDataProperty(
                budget_type="COST",
                time_unit="MONTHLY",
                budget_limit=budgets.CfnBudget.SpendProperty(amount=limit_usd, unit="USD"),
            ),
            notifications_with_subscribers=[
                budgets.CfnBudget.NotificationWithSubscribersProperty(
                    notification=budgets.CfnBudget.NotificationProperty(
                        notification_type=kind,
                        comparison_operator="GREATER_THAN",
                        threshold=percent,
                        threshold_type="PERCENTAGE",
                    ),
                    subscribers=subscribers(kind, percent),
                )
                for kind, percent in ALERTS
            ],
        )
