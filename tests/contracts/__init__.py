"""Contract tests: each in-memory fake of tests/support/fakes/ and the real adapter (on moto) meet
the same assertions, so that the fast tests built on the fakes test what production runs."""
