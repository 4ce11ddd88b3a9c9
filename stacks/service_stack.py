"""Stateless resources of one stage: the chat Lambda, the API, its WAF and the alarms."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_backup as backup
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from stacks.config import StageConfig
from stacks.config_canary import canary_name
from stacks.constructs.chat_alarms import ChatAlarms
from stacks.constructs.chat_api import ChatApi
from stacks.constructs.chat_dashboard import ChatDashboard
from stacks.constructs.chat_function import ChatFunction, build_id
from stacks.constructs.chat_guardrail import ChatGuardrail
from stacks.constructs.chat_streaming import ChatStreaming
from stacks.constructs.feedback_routes import add_feedback_routes
from stacks.constructs.job_queue import JobQueue
from stacks.constructs.log_encryption import LogKey
from stacks.constructs.operations import Operations
from stacks.constructs.product_insights import ProductInsights
from stacks.constructs.regional_waf import RegionalWaf
from stacks.constructs.runtime_controls import RuntimeControls
from stacks.constructs.safe_deployment import SafeDeployment
from stacks.constructs.saved_queries import SavedQueries
from stacks.constructs.stream_routes import add_stream_routes
from stacks.constructs.user_pool_waf import UserPoolWaf
from stacks.nag import HIPAA, NIST, acknowledge, acknowledge_rules
from stacks.release import Release, current_release
from stacks.runtime_access import RuntimeAccess
from stacks.runtime_environment import chat_environment, metrics_namespace


class ServiceStack(cdk.Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        table: dynamodb.ITableV2,
        data_key: kms.IKey,
        llm_secret: secretsmanager.ISecret,
        runtime_controls: RuntimeControls,
        backup_vault: backup.IBackupVault | None = None,
        user_pool: cognito.IUserPool | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)

        log_key = LogKey.of_stage(self, config, encrypts="Lambda, API Gateway and WAF logs")
        # One environment for both functions: the worker answers the same turns as the chat handler.
        environment = chat_environment(
            config,
            table_name=table.table_name,
            secret_arn=llm_secret.secret_arn if config.llm.needs_secret else None,
            build_id=build_id(),
            controls_parameter=runtime_controls.parameter.parameter_name,
        )
        guardrail = None
        if config.guardrail.enabled:
            guardrail = ChatGuardrail(self, "Guardrail", config=config.guardrail, stage_name=config.name)
            environment.update(guardrail.environment())
        chat = ChatFunction(
            self,
            "Chat",
            config=config,
            handler="lambda_src.handlers.chat.handler",
            description="Chatbot: answers POST /chat and GET /health",
            environment=environment,
            log_key=log_key,
        )
        synchronous_only = (
            "Invoked only synchronously, by API Gateway through the live alias, which returns any failure "
            "to the caller; a Lambda dead-letter queue receives asynchronous invocations only."
        )
        acknowledge_rules(
            chat.function, "LambdaDLQ", ("Serverless", NIST, HIPAA), synchronous_only, checkov="CKV_AWS_116"
        )
        access = RuntimeAccess(
            config=config,
            table=table,
            data_key=data_key,
            llm_secret=llm_secret,
            runtime_controls=runtime_controls,
        )
        access.grant(chat)

        worker = ChatFunction(
            self,
            "Worker",
            config=config,
            handler="lambda_src.handlers.worker.handler",
            description="Chatbot: answers queued chat jobs (SQS)",
            environment=environment,
            log_key=log_key,
            timeout_seconds=config.jobs.worker_timeout_seconds,
            reserved_concurrency=max(2, config.jobs.worker_concurrency),
        )
        access.grant(worker)
        jobs = JobQueue(self, "Jobs", config=config, worker=worker.function)
        self.jobs = jobs
        # The queues have a key of their own, so this grant (and the worker's) touches no data key.
        jobs.queue.grant_send_messages(chat.function)
        chat.function.add_environment("JOBS_QUEUE_URL", jobs.queue.queue_url)

        deployment = SafeDeployment(
            self,
            "Deployment",
            function=chat.function,
            strategy=config.deployment_strategy,
            timeout_seconds=config.lambda_timeout_seconds,
        )
        streaming = ChatStreaming(
            self, "Streaming", config=config, environment=environment, log_key=log_key, access=access
        )
        acknowledge_rules(
            streaming.function,
            "LambdaDLQ",
            ("Serverless", NIST, HIPAA),
            synchronous_only,
            checkov="CKV_AWS_116",
        )
        api = ChatApi(
            self, "Api", config=config, handler=deployment.alias, log_key=log_key, user_pool=user_pool
        )
        self.feedback_methods = add_feedback_routes(api)
        self.stream_methods = add_stream_routes(
            api, handler=streaming.alias, timeout_seconds=config.stream.function_timeout_seconds
        )
        # The stage's own keys answer on the verification tier (they have no client profile in the table).
        tier_by_client = json.dumps(api.keys.tier_by_client(config))
        for function in (chat.function, worker.function, streaming.function):
            function.add_environment("TIER_BY_CLIENT", tier_by_client)
            if guardrail is not None:
                guardrail.grant_apply(function)
        # Added by CloudFront to every /api/* request; the regional WAF refuses requests without it.
        self.origin_verify = secretsmanager.Secret(
            self,
            "OriginVerify",
            description=f"Chatbot {config.name}: header value CloudFront adds so the API accepts only it",
            encryption_key=data_key,
            generate_secret_string=secretsmanager.SecretStringGenerator(
                exclude_punctuation=True, password_length=48
            ),
        )
        by_hand = (
            "Rotating the origin-verify value means redeploying the web and service stacks together "
            "(both read it by dynamic reference); done by hand as described in docs/operations.md."
        )
        acknowledge(self.origin_verify, "AwsSolutions-SMG4", by_hand)
        acknowledge_rules(self.origin_verify, "SecretsManagerRotationEnabled", (NIST, HIPAA), by_hand)
        regional_waf = RegionalWaf(
            self,
            "Waf",
            stage=api.stage,
            origin_verify_value=self.origin_verify.secret_value.unsafe_unwrap(),
            origin_verify_generation=config.origin_verify_generation,
            log_key=log_key,
        )
        self.api = api.api
        self.api_keys = api.keys
        if user_pool is not None and config.sign_up.mode == "open":
            UserPoolWaf(self, "UserPoolWaf", user_pool=user_pool, sign_up=config.sign_up, log_key=log_key)

        self.operations = operations = Operations(
            self, "Operations", config=config, runtime_controls=runtime_controls, log_key=log_key
        )
        if backup_vault is not None:
            operations.watch_backups(backup_vault)
        thresholds = config.alarm_thresholds
        alarms = ChatAlarms(
            self, "Alarms", action=operations.alarm_action, metrics_namespace=metrics_namespace(config)
        )
        alarms.watch_function(chat.function, timeout_seconds=config.lambda_timeout_seconds)
        alarms.watch_api(
            api.stage,
            p99_latency_ms=thresholds.api_p99_latency_ms,
            client_errors_per_5_minutes=thresholds.client_errors_per_5_minutes,
        )
        alarms.watch_table(table)
        alarms.watch_waf(
            regional_waf.web_acl,
            web_acl_name=str(regional_waf.web_acl.name),
            region=self.region,
            blocked_per_5_minutes=thresholds.waf_blocked_per_5_minutes,
        )
        alarms.watch_llm(max_tokens_per_hour=thresholds.max_tokens_per_hour)
        alarms.watch_jobs(queue=jobs.queue, dlq=jobs.dlq, max_age_seconds=thresholds.max_job_age_seconds)
        alarms.watch_worker(worker.function)
        stream = config.stream
        alarms.watch_streams(
            ttft_p90_ms=stream.ttft_p90_alarm_ms,
            incomplete_percent=stream.incomplete_percent_alarm,
            min_streams=stream.incomplete_alarm_min_streams,
        )
        unhealthy = alarms.chat_unhealthy()
        product = ProductInsights(
            self,
            "Product",
            metrics_namespace=metrics_namespace(config),
            thresholds=thresholds,
            action=operations.alarm_action,
        )
        guardrail_alarms = []
        if guardrail is not None:
            guardrail_alarms.append(
                guardrail.watch(metrics_namespace=metrics_namespace(config), action=operations.alarm_action)
            )
        for alarm in [
            *deployment.rollback_alarms,
            *streaming.deployment.rollback_alarms,
        ]:  # on-call hears too
            alarm.add_alarm_action(operations.alarm_action)
            alarm.add_ok_action(operations.alarm_action)
        release = current_release()
        dashboard = ChatDashboard(
            self,
            "Dashboard",
            stage_name=config.name,
            metrics_namespace=metrics_namespace(config),
            api_stage=api.stage,
            function=chat.function,
            usd_per_1k_input_tokens=config.llm.usd_per_1k_input_tokens,
            usd_per_1k_output_tokens=config.llm.usd_per_1k_output_tokens,
            release=release,
            alarms=[
                unhealthy,
                *alarms.all,
                *guardrail_alarms,
                product.falling_thumbs_up,
                *deployment.rollback_alarms,
                *streaming.deployment.rollback_alarms,
            ],
        )
        dashboard.add_stream_widgets([p.name for p in config.llm.providers])
        if guardrail is not None:
            dashboard.add_guardrail_widgets()

        dashboard.add_queue_widgets(jobs.widget())
        if config.canary.enabled:
            dashboard.add_canary_widgets(canary_name(config.name), config.canary.every_minutes)
        turn_logs = [chat.log_group, streaming.chat_function.log_group, worker.log_group]
        product.add_to(dashboard.dashboard, turn_logs=turn_logs)
        SavedQueries(
            self,
            "Queries",
            stage_name=config.name,
            turn_logs=turn_logs,
            worker_logs=worker.log_group,
            access_logs=api.access_logs,
        )
        self._outputs(config, api, operations, release)

    def _outputs(self, config: StageConfig, api: ChatApi, operations: Operations, release: Release) -> None:
        cdk.CfnOutput(self, "ApiUrl", value=api.api.url, description="Base URL of the chat API stage")
        cdk.CfnOutput(self, "Release", value=release.label, description="The release and commit deployed")
        cdk.CfnOutput(
            self,
            "DefaultApiKeyId",
            value=api.default_key.key_id,
            description="aws apigateway get-api-key --include-value --api-key <id> prints the key",
        )
        cdk.CfnOutput(
            self,
            "VerificationApiKeyId",
            value=api.verification_key.key_id,
            description="the key make smoke and make integ use, on the verification tier",
        )
        if api.keys.canary_key is not None:
            cdk.CfnOutput(
                self,
                "CanaryApiKeyId",
                value=api.keys.canary_key.key_id,
                description="the key the stage's Synthetics canary calls with, on the verification tier",
            )
        cdk.CfnOutput(self, "AlarmTopicArn", value=operations.topic.topic_arn)
        cdk.CfnOutput(self, "JobsQueueUrl", value=self.jobs.queue.queue_url)
        cdk.CfnOutput(self, "JobsDeadLetterQueueUrl", value=self.jobs.dlq.queue_url)
        # The client tiers only: scripts/issue_api_key.py finds a tier's plan here, and must not find the
        # verification tier's (its plan and allowances are the deploy checks').
        for tier in config.tiers:
            cdk.CfnOutput(
                self,
                f"UsagePlan{tier.name.capitalize()}",
                value=api.usage_plans[tier.name].usage_plan_id,
                description=f"usage plan of the {tier.name} tier (scripts/issue_api_key.py)",
            )
