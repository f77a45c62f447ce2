"""Evidence items of a dispute (files, forwarded messages, notes), scoped by the buyer."""
from __future__ import annotations

import json
from datetime import datetime

from bot.storage.base import Database
from bot.storage.records import now
from bot.storage.updates import answered, handling_update
from flows.dispute import Dispute
from flows.evidence import EvidenceItem, EvidenceKind


class Evidence(Database):
    async def replace_evidence_file(self, item: EvidenceItem) -> None:
        """Points a stored item at its AliExpress-ready copy (the original was stored first)."""
        await self._write(
            "UPDATE evidence SET file_id = ?, file_unique_id = ?, file_name = ?, mime_type = ?, file_size = ?,"
            " flags = ? WHERE id = ?",
            (item.file_id, item.file_unique_id, item.file_name, item.mime_type, item.file_size,
             json.dumps(sorted(item.flags)), item.id))

    async def add_evidence(self, dispute: Dispute, item: EvidenceItem) -> int:
        """Stores the item; returns how many items the dispute now has."""
        # The count comes back with the new id: one round trip instead of two. The values are
        # CAST because INSERT … SELECT gives PostgreSQL no column to infer their types from.
        counted = "" if self.RETURNING_SEES_INSERT else " + 1"
        insert = (
            "INSERT INTO evidence (dispute_id, kind, file_id, file_unique_id, file_name, mime_type, file_size,"
            " media_group_id, text, origin_name, origin_date, flags, label, created_at)"
            " SELECT id, CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT),"
            " CAST(? AS BIGINT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT),"
            " CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT) FROM disputes WHERE id = ? AND user_id = ?"
            f" RETURNING id, (SELECT COUNT(*) FROM evidence e WHERE e.dispute_id = ?){counted} AS n",
            (item.kind.value, item.file_id, item.file_unique_id, item.file_name, item.mime_type, item.file_size,
             item.media_group_id, item.text, item.origin_name,
             item.origin_date.isoformat() if item.origin_date else None,
             json.dumps(sorted(item.flags)), item.label, now(), dispute.id, dispute.user_id, dispute.id))
        if handling_update.get() is None:
            rows = await self._write_returning(*insert)
        else:
            async with self._transaction() as tx:
                rows = await tx.fetch(*insert)
                if rows:
                    await answered(tx)  # the evidence and its update's mark: one commit
        if not rows:  # not this user's dispute: nothing stored
            return 0
        item.id, count = rows[0]["id"], rows[0]["n"]
        return count

    async def count_evidence(self, dispute: Dispute, *, media_group_id: str | None = None) -> int:
        sql = ("SELECT COUNT(*) AS n FROM evidence e JOIN disputes d ON d.id = e.dispute_id"
               " WHERE d.id = ? AND d.user_id = ?")
        params: tuple = (dispute.id, dispute.user_id)
        if media_group_id is not None:
            sql += " AND e.media_group_id = ?"
            params += (media_group_id,)
        row = await self._read_one(sql, params)
        return row["n"] if row else 0

    async def list_evidence(self, dispute: Dispute) -> list[EvidenceItem]:
        rows = await self._read(
            "SELECT e.* FROM evidence e JOIN disputes d ON d.id = e.dispute_id"
            " WHERE d.id = ? AND d.user_id = ? ORDER BY e.id", (dispute.id, dispute.user_id))
        return [EvidenceItem(
            kind=EvidenceKind(r["kind"]), file_id=r["file_id"], file_unique_id=r["file_unique_id"],
            file_name=r["file_name"], mime_type=r["mime_type"], file_size=r["file_size"],
            media_group_id=r["media_group_id"], text=r["text"], origin_name=r["origin_name"],
            origin_date=datetime.fromisoformat(r["origin_date"]) if r["origin_date"] else None,
            flags=set(json.loads(r["flags"])), label=r["label"], id=r["id"]) for r in rows]

    async def label_evidence(self, dispute: Dispute, item_id: int, label: str) -> bool:
        """Says what a piece of evidence shows (a checklist item's key, or "other")."""
        changed = await self._write(
            "UPDATE evidence SET label = ? WHERE id = ? AND dispute_id IN"
            " (SELECT id FROM disputes WHERE id = ? AND user_id = ?)", (label, item_id, dispute.id, dispute.user_id))
        return changed == 1
