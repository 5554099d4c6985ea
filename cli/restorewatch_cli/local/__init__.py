"""Running the stack's functions without Docker: ``restorewatch local up`` and ``local invoke``."""

from restorewatch_cli.local.template import LOCAL_REGION, LOCAL_STACK, LocalStack, load_template

__all__ = ["LOCAL_REGION", "LOCAL_STACK", "LocalStack", "load_template"]
