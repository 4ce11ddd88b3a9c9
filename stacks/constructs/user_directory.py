"""Cognito for people who use the chat page: who may sign up as config says (operators only, allowed
e-mail domains, or anyone behind a web ACL), strong passwords, required TOTP MFA, threat protection, and
the managed sign-in pages on a Cognito domain."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cognito as cognito
from constructs import Construct

from stacks.config import SignUp
from stacks.constructs.log_encryption import LogKey
from stacks.constructs.sign_up_check import PreSignUpCheck


class UserDirectory(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: str,
        removal_policy: cdk.RemovalPolicy,
        sign_up: SignUp,
        log_key: LogKey | None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.sign_up = sign_up
        self.user_pool = cognito.UserPool(
            self,
            "UserPool",
            self_sign_up_enabled=sign_up.mode != "admin_only",
            sign_in_aliases=cognito.SignInAliases(email=True),
            auto_verify=cognito.AutoVerifiedAttrs(email=True),
            standard_attributes=cognito.StandardAttributes(
                email=cognito.StandardAttribute(required=True, mutable=True)
            ),
            password_policy=cognito.PasswordPolicy(
                min_length=12,
                require_lowercase=True,
                require_uppercase=True,
                require_digits=True,
                require_symbols=True,
                temp_password_validity=cdk.Duration.days(3),
            ),
            mfa=cognito.Mfa.REQUIRED,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            feature_plan=cognito.FeaturePlan.PLUS,
            standard_threat_protection_mode=cognito.StandardThreatProtectionMode.FULL_FUNCTION,
            deletion_protection=removal_policy == cdk.RemovalPolicy.RETAIN,
            removal_policy=removal_policy,
        )
        if sign_up.mode == "email_domains":
            if log_key is None:
                raise ValueError("sign-up by e-mail domain needs a log key for its trigger's logs")
            check = PreSignUpCheck(self, "SignUpCheck", email_domains=sign_up.email_domains, log_key=log_key)
            self.user_pool.add_trigger(cognito.UserPoolOperation.PRE_SIGN_UP, check.function)
        account = cdk.Stack.of(self).account
        self.domain = self.user_pool.add_domain(
            "SignIn",
            # Prefixes are global: the stage and account make it unique without a random part.
            cognito_domain=cognito.CognitoDomainOptions(domain_prefix=f"chatbot-{stage}-{account}"),
            # The classic hosted UI needs no per-client branding resource to serve its pages.
            managed_login_version=cognito.ManagedLoginVersion.CLASSIC_HOSTED_UI,
        )
        self.domain_url = (
            f"https://chatbot-{stage}-{account}.auth.{cdk.Stack.of(self).region}.amazoncognito.com"
        )
