"""Read-only snapshots that a reply needs whole, read in one trip to the database thread."""

from __future__ import annotations

import sqlite3

from storage.exemplars import honours_sync
from storage.ledger import PARTNER_SQL, partner_of, points_of_sync
from storage.members import GET_ANY_SQL, member_of, skills_of_sync
from storage.posts import posts_of_sync
from storage.wishes import wishes_of_sync


def member_overview_sync(conn: sqlite3.Connection, branch_id: int, term_id: int, user_id: int,
                         wish_limit: int) -> dict:
    """Everything ``/我的`` shows: profile (a removed one too), term points and standing,
    partner, wishes, skills, posts and honours (publicised 微典型 titles)."""
    breakdown, standing = points_of_sync(conn, branch_id, term_id, user_id)
    wishes, claims = wishes_of_sync(conn, branch_id, user_id, wish_limit)
    skills, matching = skills_of_sync(conn, branch_id, user_id)
    return {
        "skills": skills,
        "matching": matching,
        "posts": posts_of_sync(conn, branch_id, user_id),
        "member": member_of(conn.execute(GET_ANY_SQL, (branch_id, user_id)).fetchone()),
        "breakdown": breakdown,
        "standing": standing,
        "partner": partner_of(conn.execute(
            PARTNER_SQL, (branch_id, term_id, user_id, user_id)).fetchone(), user_id),
        "wishes": wishes,
        "claims": claims,
        "honours": honours_sync(conn, branch_id, user_id),
    }
