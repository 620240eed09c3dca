import os

import pytest

from tests.e2e.stack import Stack, drop_database, make_database


def _redis_db() -> int:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    index = int(worker[2:]) if worker[2:].isdigit() else 0
    return 12 + 2 * index


@pytest.fixture(scope="session")
def e2e_template():
    """One migrated database per test session; each stack starts from a copy of it."""
    name = f"zea_e2e_template_{os.getpid()}"
    make_database(name, {k: v for k, v in os.environ.items() if k != "DATABASE_URL"})
    yield name
    drop_database(name)


@pytest.fixture
def stack(request, e2e_template):
    """A fresh stack per test (web, worker, beat not started: the test starts what it needs)."""
    env = getattr(request, "param", {})
    marker = request.node.get_closest_marker("stack_env")
    if marker:
        env = {**env, **marker.kwargs}
    name = request.node.name[:20].lower().replace("[", "_").replace("]", "")
    stack = Stack(name, _redis_db(), **env).setup(template=e2e_template)
    yield stack
    stack.teardown()


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)
