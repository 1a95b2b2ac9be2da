"""The harness's figures as Markdown: the table per profile and transport, the goals, ours against WebRTC.

Goals are reported, never asserted (issue 19): a missed goal is a finding, not a failed run.
"""

from __future__ import annotations

from collections.abc import Callable

GOALS: dict[str, list[tuple[str, Callable[[dict], bool | None]]]] = {
    "lte": [("g2g p95 ≤ 250 ms", lambda r: _le(r.get("g2g_p95_ms"), 250)),
            ("no freeze", lambda r: None if r.get("freezes") is None else r["freezes"] == 0)],
    "congested": [("g2g p95 ≤ 600 ms", lambda r: _le(r.get("g2g_p95_ms"), 600)),
                  ("≤ 1 freeze/min", lambda r: _le(r.get("freezes_per_min"), 1)),
                  ("level settled ≤ 5 s", lambda r: _le(r.get("settle_s"), 5))],
    "3g": [("at the low level (≤ 250 kbit/s) ≤ 5 s", lambda r: _le(r.get("low_level_s"), 5)),
           ("voice unbroken (no gap ≥ 60 ms)", lambda r: None if r.get("voice_gaps") is None
            else r.get("voice_packets", 0) > 0 and r["voice_gaps"] == 0)],
    "handover": [("pictures again ≤ 2 s after the link is back",
                  lambda r: _le((r.get("handover") or {}).get("first_new_frame_after_up_s"), 2)),
                 ("same session and keys", lambda r: None if "handover" not in r
                  else bool(r["handover"].get("same_session") and r["handover"].get("same_keys")))],
}


def _le(value, limit) -> bool | None:
    return None if value is None else value <= limit


def _f(value, digits: int = 0) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _verdict(ok: bool | None) -> str:
    return {True: "met", False: "**missed**", None: "–"}[ok]


def results_table(results: list[dict]) -> list[str]:
    lines = ["| profile | transport | g2g p50 / p95 / p99 ms | freezes/min (longest s) | fps | video kbit/s | "
             "settled s | ≤250k at s | final target kbit/s | voice gaps/min (silent ms) | handover: pictures after up s |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        if "error" in r:
            lines.append(f"| {r['profile']} | {r['transport']} | error: {r['error']} |" + " |" * 8)
            continue
        handover = (r.get("handover") or {}).get("first_new_frame_after_up_s")
        lines.append(
            f"| {r['profile']} | {r['transport']} | {_f(r['g2g_p50_ms'])} / {_f(r['g2g_p95_ms'])} / {_f(r['g2g_p99_ms'])} "
            f"| {_f(r['freezes_per_min'], 1)} ({_f(r['longest_freeze_s'], 1)}) | {_f(r['fps'], 1)} "
            f"| {_f(r['video_kbps'])} | {_f(r['settle_s'], 1)} | {_f(r['low_level_s'], 1)} "
            f"| {_f(r['final_target_kbps'])} | {_f(r['voice_gaps_per_min'], 1)} ({_f(r['voice_silent_ms'])}) "
            f"| {_f(handover, 2)} |")
    return lines


def goals_table(results: list[dict]) -> list[str]:
    transports = sorted({r["transport"] for r in results})
    lines = ["| profile | goal | " + " | ".join(transports) + " |", "|---|---|" + "---|" * len(transports)]
    for profile, goals in GOALS.items():
        runs = {r["transport"]: r for r in results if r["profile"] == profile and "error" not in r}
        if not runs:
            continue
        for goal, check in goals:
            cells = [_verdict(check(runs[t])) if t in runs else "–" for t in transports]
            lines.append(f"| {profile} | {goal} | " + " | ".join(cells) + " |")
    return lines


def versus_table(results: list[dict]) -> list[str]:
    lines = ["| profile | ours | g2g p95 ours / WebRTC | ratio | freezes/min ours / WebRTC | "
             "voice gaps/min ours / WebRTC |", "|---|---|---|---|---|---|"]
    by = {(r["profile"], r["transport"]): r for r in results if "error" not in r}
    for profile in dict.fromkeys(r["profile"] for r in results):
        base = by.get((profile, "webrtc"))
        if base is None:
            continue
        for ours in ("ours-python", "ours-page"):
            r = by.get((profile, ours))
            if r is None:
                continue
            ratio = (r["g2g_p95_ms"] / base["g2g_p95_ms"]) if r.get("g2g_p95_ms") and base.get("g2g_p95_ms") else None
            lines.append(f"| {profile} | {ours} | {_f(r['g2g_p95_ms'])} / {_f(base['g2g_p95_ms'])} | "
                         f"{_f(ratio, 2)}× | {_f(r['freezes_per_min'], 1)} / {_f(base['freezes_per_min'], 1)} | "
                         f"{_f(r['voice_gaps_per_min'], 1)} / {_f(base['voice_gaps_per_min'], 1)} |")
    return lines


def markdown(run: dict) -> str:
    results = run["results"]
    out = [f"# Network lab run {run['started']}", "", f"`{run['command']}` — {run['minutes']} min, "
           f"{run['cpus']} CPUs, TCP {run.get('tcp', 'cubic')}", "", "Profiles: " + "; ".join(f"{k}: {v}" for k, v in run["profiles"].items()),
           "", "## Figures", "", *results_table(results), "", "## Goals (reported, not asserted)", "",
           *goals_table(results), "", "## Ours against WebRTC (same link, same run)", "", *versus_table(results), ""]
    return "\n".join(out)
