"""Keyed hashes under the app's secret: values the running app can recognise again and someone
reading the database without ``SECRET_KEY`` cannot test guesses against (comment authors in
surveys/authorship.py, erased people's HR ids in adoption/erasure.py).

Each use has its own ``purpose``, from which its key is derived, so a hash made for one use says
nothing in another. Rotating ``SECRET_KEY`` makes every such hash unrecognisable (docs/privacy.md).
"""
from __future__ import annotations

import hashlib
import hmac

from flask import current_app


def keyed_digest(purpose: bytes, message: bytes) -> str:
    """Hex HMAC-SHA256 of ``message`` under the key derived from ``SECRET_KEY`` for ``purpose``."""
    secret = current_app.config["SECRET_KEY"]
    key = hashlib.sha256(purpose + (secret.encode() if isinstance(secret, str) else secret)).digest()
    return hmac.new(key, message, hashlib.sha256).hexdigest()
