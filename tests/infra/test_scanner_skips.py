"""Every checkov skip in every template is on one resource, names one check and gives a specific reason."""

from __future__ import annotations

from tests.infra.conftest import SynthesizedStage
from tests.infra.test_nag import GENERIC_REASONS

MIN_REASON_LENGTH = 40


def test_every_checkov_skip_sits_on_a_resource_with_a_specific_reason(stage: SynthesizedStage) -> None:
    skips = [
        (logical_id, skip)
        for template in stage.templates.values()
        for logical_id, resource in template["Resources"].items()
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]
    assert skips, "expected the skips this app writes"
    for logical_id, skip in skips:
        assert set(skip) == {"id", "comment"}, (logical_id, skip)
        assert skip["id"].startswith("CKV"), (logical_id, skip)
        reason = skip["comment"]
        assert len(reason) >= MIN_REASON_LENGTH, (logical_id, skip)
        assert not any(phrase in reason.lower() for phrase in GENERIC_REASONS), (logical_id, skip)
