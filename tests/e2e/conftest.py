import os

import pytest

from tests.e2e.stack import Stack


def _redis_db() -> int:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    index = int(worker[2:]) if worker[2:].isdigit() else 0
    return 12 + 2 * index


@pytest.fixture
def stack(request):
    """A fresh stack per test (web, worker, beat not started: the test starts what it needs)."""
    env = getattr(request, "param", {})
    marker = request.node.get_closest_marker("stack_env")
    if marker:
        env = {**env, **marker.kwargs}
    stack = Stack(request.node.name[:20].lower().replace("[", "_").replace("]", ""), _redis_db(), **env).setup()
    yield stack
    stack.teardown()


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)
