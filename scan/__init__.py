"""Gates on the synthesized templates: aws-cdk-lib's validation report, cfn-lint, checkov and cdk-nag.

`make synth` runs the validation-report gate; `make scan` (python -m scan) runs the scanners and prints
their figures per stage. Infrastructure code never imports from here.
"""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
