"""The keyed hash that lets the app, and only the app, recognise the author of a comment.

``author_key`` = HMAC-SHA256 over (employee, round, comment) with a key derived from the app's
``SECRET_KEY``. Someone who reads the database without the secret cannot test "did Ann write
this?" (they would need the key); the running app can, which is how the author finds their
conversations. Including the comment id means two comments by the same person in one round do not
share a key, so they cannot be grouped as "written by the same person" either.
Rotating ``SECRET_KEY`` detaches every author from their past comments (docs/privacy.md).
"""
from __future__ import annotations

import hmac
import uuid

from adoption.keyed_hash import keyed_digest

_PURPOSE = b"uptake/comment-author/v1:"


def author_key(employee_id: int, round_id: int, comment_id: uuid.UUID) -> str:
    """The hex HMAC that ties a comment to its author, verifiable only with the app's secret."""
    return keyed_digest(_PURPOSE, f"{employee_id}:{round_id}:{comment_id}".encode())


def is_author(employee_id: int, round_id: int, comment_id: uuid.UUID, key: str) -> bool:
    """True when ``key`` is the author key of this employee for the comment (constant time)."""
    return hmac.compare_digest(author_key(employee_id, round_id, comment_id), key)
