"""Pin torch to one thread in these tests: on a shared 2-core machine two threads were 3-4x
slower (shared/notes/optimization-on-cpu.md), and the lab itself measures with one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread() -> Iterator[None]:
    try:
        import torch
    except ImportError:
        yield
        return
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)
