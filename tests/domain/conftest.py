"""Helpers for domain tests: a branch with registered members of each kind."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from domain.branches import Actor

WISHER, HELPER, HELPER2, MASSES, SECRETARY = 101, 102, 103, 104, 105


@dataclass
class World:
    svc: object
    branch_id: int
    secretary: Actor


@pytest.fixture
async def world(svc) -> World:
    branch = await svc.branches.branch_for_group(5001)
    b = branch.id
    for uid, name in ((WISHER, "许愿人"), (HELPER, "助人者"), (HELPER2, "助人者二"),
                      (MASSES, "群众甲"), (SECRETARY, "书记")):
        await svc.branches.register(b, uid, name, "3楼", "301")
    owner = Actor(1, is_group_admin=True)
    await svc.branches.set_role(b, owner, HELPER, "正式党员")
    await svc.branches.set_role(b, owner, HELPER2, "入党积极分子")
    await svc.branches.set_role(b, owner, SECRETARY, "书记")
    return World(svc, b, Actor(SECRETARY))
