"""Top-level test set-up: the tests never reach real AWS.

Fake credentials and a fixed region are set before any test module imports boto3, so a test that
forgets moto fails on moto's or AWS's side instead of using someone's real account.
"""

import os

for _name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
    os.environ.pop(_name, None)
os.environ.update(
    {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }
)

# The guarantees report (fault matrix, fuzz counts, ...): printed at the end of every run, written to
# docs/guarantees.md when RESTOREWATCH_WRITE_GUARANTEES=1; and the record of every AWS operation the
# package issues in the run, checked against the fault matrix's rows (a call without a row fails the
# run). Registered here, in the top-level conftest, so that their session hooks also run in the
# pytest-xdist controller (which collects nothing).
pytest_plugins = ["faults.report", "support.aws_calls"]
