"""The body of the gap webhook (``GAP_WEBHOOK_URL``) in the format the receiver reads
(``GAP_WEBHOOK_FORMAT``): the portal's own JSON, a Slack incoming webhook or a Google
Chat incoming webhook."""

from __future__ import annotations

from django.conf import settings

WHAT = {"opened": "A gap opened", "waiver-expired": "A waiver expired"}


def webhook_payload(gap, kind: str, title: str, url: str, fmt: str | None = None) -> dict:
    fmt = fmt or settings.GAP_WEBHOOK_FORMAT
    if fmt == "json":
        return {
            "event": f"gap.{kind}",
            "technique": gap.technique.slug,
            "rule": gap.rule_id,
            "title": title,
            "severity": gap.severity,
            "summary": gap.summary,
            "opened_at": gap.opened_at.isoformat(),
            "url": url,
        }
    what = WHAT.get(kind, kind)
    # Both chats read <url|text> links and *bold* in a plain "text" message.
    text = (
        f"*{what}: {_escape(gap.technique.name)} — {_escape(title)}* ({gap.severity})\n"
        f"{_escape(gap.summary)}\n<{url}|Open the gap in tfmot-portal>"
    )
    if fmt == "slack":
        return {
            "text": text,
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
        }
    if fmt == "google_chat":
        return {"text": text}
    raise ValueError(f"Unknown GAP_WEBHOOK_FORMAT {fmt!r}")


def _escape(text: str) -> str:
    # Slack and Google Chat treat &, < and > as markup.
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
