#!/usr/bin/env python3
"""CDK entry point: one cdk.Stage per configured stage, every template checked by cdk-nag."""

import os

import aws_cdk as cdk

from stacks.config import STAGES, resolve_environment
from stacks.nag import add_nag_checks
from stacks.stage import build_stages

app = cdk.App()
add_nag_checks(app)
build_stages(
    app,
    (
        resolve_environment(
            config,
            context_account=app.node.try_get_context("account"),
            context_region=app.node.try_get_context("region"),
            default_account=os.environ.get("CDK_DEFAULT_ACCOUNT"),
            default_region=os.environ.get("CDK_DEFAULT_REGION"),
        )
        for config in STAGES.values()
    ),
)
app.synth()
