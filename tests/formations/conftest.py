# axe-core (pinned, vendored by tests/public/conftest.py) for the browser tests of the OF screens (U1).
from tests.public.conftest import axe_source  # noqa: F401
