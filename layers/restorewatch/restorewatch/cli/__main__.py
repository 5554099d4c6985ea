"""`python -m restorewatch.cli`."""

from restorewatch.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
