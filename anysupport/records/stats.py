"""Record statistics: the store's counts turned into the answer. No HTTP and no database in here.

The store counts (``RecordStore.stats``, MongoDB aggregation); this module makes every category
appear even with no records, labels it in the requester's language, adds ratios and the total row.
"""

from __future__ import annotations

from typing import Any

from anysupport import i18n
from anysupport.catalog.manager import trouble_type_paths
from anysupport.protocol.vocabulary import SATISFACTION
from anysupport.records.manager import RESOLUTIONS

UNCHECKED = "unchecked"
NO_ANSWER = "no_answer"
UNSPECIFIED = "unspecified"
RESOLUTION_KEYS = (*RESOLUTIONS, UNCHECKED)
SATISFACTION_KEYS = (*SATISFACTION, NO_ANSWER)
TABLES = ("trouble_type", "resolution", "satisfaction")


def resolution_label(value: str | None, language: str) -> str:
    return i18n.text(f"report_resolution_{value if value in RESOLUTION_KEYS else UNCHECKED}", language)


def satisfaction_label(value: str | None, language: str) -> str:
    return i18n.text(f"report_satisfaction_{value if value in SATISFACTION_KEYS else NO_ANSWER}", language)


def _ratio(count: int, total: int) -> float:
    return round(count / total, 4) if total else 0.0


def _table(name: str, rows: list[tuple[str, str, int]], total: int, language: str) -> dict[str, Any]:
    return {
        "title": i18n.text(f"report_table_{name}", language),
        "rows": [{"key": key, "label": label, "count": n, "ratio": _ratio(n, total)} for key, label, n in rows],
        "total": {"label": i18n.text("report_total", language), "count": total, "ratio": 1.0 if total else 0.0},
    }


def build_statistics(counts: dict[str, list[dict[str, Any]]], trouble_types: list[dict[str, Any]],
                     language: str) -> dict[str, Any]:
    """The three tables from ``RecordStore.stats`` counts and the catalog's trouble types.

    Active trouble types always have a row; a retired one, or an id the catalog no longer knows
    (labelled with the path stored in its records), only when records use it. Records without a
    type are the ``unspecified`` row, last.
    """
    total = counts["total"][0]["n"] if counts.get("total") else 0
    by_type = {row["_id"]: row for row in counts.get("trouble_type", [])}
    type_rows: list[tuple[str, str, int]] = []
    for t, path in trouble_type_paths(trouble_types):
        n = by_type.pop(t["id"], {}).get("count", 0)
        if n or not t.get("retired"):
            type_rows.append((t["id"], path, n))
    unspecified = by_type.pop(None, {}).get("count", 0)
    for key, row in sorted(by_type.items(), key=lambda item: -item[1]["count"]):
        type_rows.append((key, row.get("name") or key, row["count"]))
    type_rows.append((UNSPECIFIED, i18n.text("report_unspecified", language), unspecified))

    def fixed(name: str, keys: tuple[str, ...], label) -> dict[str, Any]:
        found = {row["_id"]: row["count"] for row in counts.get(name, [])}
        fallback = keys[-1]  # a value outside the known ones (written around the API) counts as not given
        for key in list(found):
            if key not in keys:
                found[fallback] = found.get(fallback, 0) + found.pop(key)
        return _table(name, [(k, label(k, language), found.get(k, 0)) for k in keys], total, language)

    return {
        "total": total,
        "trouble_type": _table("trouble_type", type_rows, total, language),
        "resolution": fixed("resolution", RESOLUTION_KEYS, resolution_label),
        "satisfaction": fixed("satisfaction", SATISFACTION_KEYS, satisfaction_label),
    }
