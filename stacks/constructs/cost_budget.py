"""An AWS Budgets monthly cost budget for the stage's account, alerting the on-call topic and e-mail."""

from __future__ import annotations

from aws_cdk import aws_budgets as budgets
from aws_cdk import aws_sns as sns
from constructs import Construct

# (notification type, percent of the limit): a forecast warns before the money is spent.
ALERTS = (("FORECASTED", 80), ("FORECASTED", 100), ("ACTUAL", 80), ("ACTUAL", 100))


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
    ) -> None:
        super().__init__(scope, construct_id)
        subscribers = [budgets.CfnBudget.SubscriberProperty(subscription_type="SNS", address=topic.topic_arn)]
        subscribers += [
            budgets.CfnBudget.SubscriberProperty(subscription_type="EMAIL", address=e) for e in emails
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
                    subscribers=subscribers,
                )
                for kind, percent in ALERTS
            ],
        )
