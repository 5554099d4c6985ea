"""The subcommands of `restorewatch`: one module each, registered by ``restorewatch_cli.app``."""
