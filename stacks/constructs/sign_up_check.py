"""The user pool's pre sign-up trigger: only e-mail addresses of the configured domains may sign up.

A small standard-library function (lambda_src/handlers/pre_sign_up.py) with its own role, which may
only write its own encrypted log group. Its code goes inline into the data stack's template: shipped as
the lambda_src asset, every change to the chat code would update the stateful stack too.
"""

from __future__ import annotations

import json

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from stacks.constructs.chat_function import ARCHITECTURE, REPO_ROOT, RUNTIME
from stacks.constructs.log_encryption import LogKey
from stacks.nag import HIPAA, NIST, PCI, acknowledge, acknowledge_rules, skip_checkov

HANDLER_SOURCE = REPO_ROOT / "lambda_src" / "handlers" / "pre_sign_up.py"


class PreSignUpCheck(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, email_domains: tuple[str, ...], log_key: LogKey
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = log_key.log_group(self, "Logs")
        role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Chatbot: Cognito pre sign-up check of the e-mail domain",
        )
        self.log_group.grant_write(role)
        self.function = lambda_.Function(
            self,
            "Function",
            description="Chatbot: lets only e-mail addresses of the allowed domains sign up",
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler="index.handler",
            code=lambda_.Code.from_inline(HANDLER_SOURCE.read_text()),
            memory_size=128,
            timeout=cdk.Duration.seconds(5),  # Cognito waits 5 s for a trigger
            role=role,
            log_group=self.log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            environment={"ALLOWED_EMAIL_DOMAINS": json.dumps(sorted(email_domains))},
        )
        self._acknowledge(role)

    def _acknowledge(self, role: iam.Role) -> None:
        why = "Cognito's pre sign-up check of the e-mail domain"
        acknowledge_rules(
            role.node.find_child("DefaultPolicy"),
            "IAMNoInlinePolicy",
            (NIST, HIPAA, PCI),
            f"{why}: its role's own policy lets it write its own log group and nothing else.",
        )
        synchronous = (
            f"{why}: Cognito invokes it synchronously during sign-up and answers the person with its "
            "refusal; a dead-letter queue receives asynchronous invocations only."
        )
        acknowledge_rules(
            self.function, "LambdaDLQ", ("Serverless", NIST, HIPAA), synchronous, checkov="CKV_AWS_116"
        )
        no_network = f"{why}: it reads its event and its environment and calls nothing, so no VPC applies."
        acknowledge_rules(
            self.function, "LambdaInsideVPC", (NIST, HIPAA, PCI), no_network, checkov="CKV_AWS_117"
        )
        bounded = (
            f"{why}: one invocation of a few milliseconds per sign-up attempt, bounded by Cognito's own "
            "sign-up rate limits; a reservation would take concurrency from the chat functions."
        )
        acknowledge_rules(self.function, "LambdaConcurrency", (NIST, HIPAA), bounded, checkov="CKV_AWS_115")
        acknowledge(
            self.function, "Serverless-LambdaTracing", f"{why}: it makes no call that a trace could show."
        )
        skip_checkov(
            self.function,
            "CKV_AWS_173",
            f"{why}: its environment is the list of allowed e-mail domains (public names, no secret), "
            "encrypted at rest by Lambda.",
        )
