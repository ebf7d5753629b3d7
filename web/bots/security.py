"""Rules both bots share, applied before anything runs and before anything is posted.

- A request is checked on its raw bytes first: Slack's v0 HMAC signature (signing secret) or Discord's Ed25519
  signature (application public key), and its timestamp (older than 5 minutes: refused). Anything that fails is a
  401 and nothing else happens.
- A request seen before (same signature) is a replay: 401. A Slack *retry* carries a new signature but the same
  ``event_id``: it is answered 200 and not run twice.
- Only the user who asked for an approval (recorded when the request is posted) or an admin
  (``settings.bot_admins``) may answer it, and only once.
- Nothing a bot posts carries a secret or a local path: every outgoing text passes ``Scrubber``.

The tables ``bot_seen`` and ``bot_approvals`` (core/store.py m009) belong to web/bots.
"""

import re
import time
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey
from slack_sdk.signature import SignatureVerifier

from core.settings import Settings
from core.store import now_iso
from core.workspace import Workspace

MAX_AGE_S = 300  # Slack's and Discord's own replay window: a request older than this is refused
SEEN_KEEP_S = 3600  # seen keys outlive the window, so a replay inside it is always caught


class Refused(Exception):
    """The request is not provably from the platform (or was seen before): answer 401, run nothing."""


def _fresh(timestamp: str | None, now: float | None) -> int:
    if not timestamp or not timestamp.strip().isdigit():
        raise Refused("missing or malformed timestamp")
    ts = int(timestamp)
    if abs((now if now is not None else time.time()) - ts) > MAX_AGE_S:
        raise Refused("stale timestamp")
    return ts


def verify_slack(signing_secret: str, headers, body: bytes, now: float | None = None) -> str:
    """The request's signature if Slack signed ``body`` within 5 minutes; else ``Refused``."""
    timestamp, signature = headers.get("x-slack-request-timestamp"), headers.get("x-slack-signature")
    _fresh(timestamp, now)
    try:
        body.decode("utf-8")  # Slack sends UTF-8; the SDK's check would raise on other bytes, before comparing
    except UnicodeDecodeError:
        raise Refused("body is not UTF-8") from None
    if not signature or not SignatureVerifier(signing_secret).is_valid(body, timestamp, signature):
        raise Refused("bad Slack signature")
    return signature


def verify_discord(public_key_hex: str, headers, body: bytes, now: float | None = None) -> str:
    """The request's signature if Discord signed ``timestamp + body`` (Ed25519) within 5 minutes; else ``Refused``."""
    timestamp, signature = headers.get("x-signature-timestamp"), headers.get("x-signature-ed25519")
    _fresh(timestamp, now)
    try:
        VerifyKey(bytes.fromhex(public_key_hex)).verify(timestamp.encode() + body, bytes.fromhex(signature or ""))
    except (BadSignatureError, ValueError, TypeError):
        raise Refused("bad Discord signature") from None
    return signature


def first_time(db: sqlite_utils.Database, key: str, now: float | None = None) -> bool:
    """Record ``key``; False if it was recorded before (a replay or a retry). One statement: no race."""
    now = now if now is not None else time.time()
    with db.conn:
        cursor = db.conn.execute("INSERT OR IGNORE INTO bot_seen (key, seen_at) VALUES (?, ?)", (key, now))
        if cursor.rowcount:  # a new key: drop the ones too old to matter (few rows, one cheap scan)
            db.conn.execute("DELETE FROM bot_seen WHERE seen_at < ?", (now - SEEN_KEEP_S,))
    return cursor.rowcount == 1


# -- approvals ---------------------------------------------------------------------------------------------------

@dataclass
class ApprovalRecord:
    id: str
    thread_id: str
    platform: str
    requester: str | None
    answered_by: str | None


def record_approval(db: sqlite_utils.Database, approval_id: str, thread_id: str, platform: str,
                    requester: str | None) -> None:
    """Remember who asked (the user whose message led to the request); a re-post never changes the requester."""
    with db.conn:
        db.conn.execute(
            "INSERT OR IGNORE INTO bot_approvals (id, thread_id, platform, requester, created_at) VALUES (?,?,?,?,?)",
            (approval_id, thread_id, platform, requester, now_iso()),
        )


def get_approval(db: sqlite_utils.Database, approval_id: str) -> ApprovalRecord | None:
    rows = list(db["bot_approvals"].rows_where("id = ?", [approval_id]))
    if not rows:
        return None
    return ApprovalRecord(**{k: rows[0][k] for k in ("id", "thread_id", "platform", "requester", "answered_by")})


def is_admin(settings: Settings, platform: str, user: str) -> bool:
    """``bot_admins`` entries are bare user ids or ``slack:U123`` / ``discord:1234`` to name the platform."""
    return user in settings.bot_admins or f"{platform}:{user}" in settings.bot_admins


def may_answer(settings: Settings, record: ApprovalRecord | None, platform: str, user: str) -> bool:
    if is_admin(settings, platform, user):
        return True
    return record is not None and record.platform == platform and record.requester == user


def claim(db: sqlite_utils.Database, approval_id: str, user: str) -> bool:
    """Mark the approval answered by ``user``; False if someone answered it already (a double click)."""
    with db.conn:
        cursor = db.conn.execute(
            "UPDATE bot_approvals SET answered_by = ?, answered_at = ? WHERE id = ? AND answered_by IS NULL",
            (user, now_iso(), approval_id),
        )
    return cursor.rowcount == 1


# -- what leaves the server ---------------------------------------------------------------------------------------

_TOKEN_PATTERNS = [
    r"xox[abposr]-[A-Za-z0-9-]{8,}",  # Slack tokens
    r"xapp-[A-Za-z0-9-]{8,}",
    r"sk-ant-[A-Za-z0-9_-]{8,}",  # Anthropic keys
    r"[MNO][A-Za-z\d_-]{23,27}\.[\w-]{6}\.[\w-]{27,}",  # Discord bot tokens
]
# An absolute POSIX path (two or more parts) not inside a URL, a home-relative path, or a Windows path.
_PATH = re.compile(r"(?<![\w.:/~-])(?:~?/(?:[^\s/\"'`<>()|]+/)+[^\s/\"'`<>()|]*|[A-Za-z]:\\[^\s\"'`<>|]+)")


class Scrubber:
    """Removes secrets and local paths from text a bot is about to post (a path keeps only its file name)."""

    def __init__(self, settings: Settings, workspace: Workspace):
        secrets = [s.get_secret_value() for s in (settings.slack_bot_token, settings.slack_signing_secret,
                                                  settings.discord_bot_token, settings.anthropic_api_key,
                                                  settings.token) if s is not None]
        self.secrets = sorted((s for s in secrets if len(s) >= 6), key=len, reverse=True)
        home = Path(workspace.home)
        self.roots = sorted({str(home), str(home.resolve())}, key=len, reverse=True)

    def __call__(self, text: str | None) -> str:
        if not text:
            return text or ""
        for secret in self.secrets:
            text = text.replace(secret, "[redacted]")
        for pattern in _TOKEN_PATTERNS:
            text = re.sub(pattern, "[redacted]", text)
        for root in self.roots:  # a workspace path even where the generic pattern would not see one
            text = re.sub(re.escape(root) + r"[/\\]?([^\s\"'`<>|]*)", lambda m: _basename(m.group(1)), text)
        return _PATH.sub(lambda m: _basename(m.group(0)), text)


def _basename(path: str) -> str:
    name = re.split(r"[/\\]", path.rstrip("/\\"))[-1]
    return name or "(workspace)"
