"""`python -m restorewatch_cli`."""

from restorewatch_cli import main

if __name__ == "__main__":
    raise SystemExit(main())
