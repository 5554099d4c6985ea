"""What-if: would a planned change (Terraform plan, CloudFormation template or change set) break a restore?

The planned IAM changes (``changes``) are read from the plan (``terraform``, ``cloudformation``),
laid over the account (``overlay``) and compared, principal by principal, with the account as it is
(``compare``), as the watcher would after the change is applied.
"""

from restorewatch_cli.whatif.after_state import AfterState, missing_policies
from restorewatch_cli.whatif.changes import Change, EntityKind, Unknown
from restorewatch_cli.whatif.compare import WhatIfReport, WhatIfRow, compare
from restorewatch_cli.whatif.overlay import Uncertainty, apply_changes
from restorewatch_cli.whatif.terraform import plan_changes

__all__ = [
    "AfterState",
    "Change",
    "EntityKind",
    "Uncertainty",
    "Unknown",
    "WhatIfReport",
    "WhatIfRow",
    "apply_changes",
    "compare",
    "missing_policies",
    "plan_changes",
]
