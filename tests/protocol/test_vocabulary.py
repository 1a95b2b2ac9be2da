"""The protocol's vocabulary (anysupport/protocol/vocabulary.py): one declaration that the schemas, the
documentation, the clients and the pages all follow (the pages' copy is checked in
tests/web/test_pages_http.py over HTTP and tests/web/test_browser_vocabulary.py in Chromium)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from bson import ObjectId

from anysupport.protocol import vocabulary
from anysupport.protocol.messages import CLIENT_SCHEMAS, SERVER_SCHEMAS
from anysupport.protocol.vocabulary import (
    CLOSE,
    DIRECTIONS,
    FINAL_CLOSE_CODES,
    GUIDE_GLYPHS,
    LIVE_STATES,
    OBJECT_ID_PATTERN,
    SATISFACTION,
    STATES,
)

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "protocol.md").read_text(encoding="utf-8")


def test_the_message_schemas_take_their_values_from_the_vocabulary():
    assert SERVER_SCHEMAS["state"]["properties"]["state"]["enum"] == list(STATES)
    assert CLIENT_SCHEMAS["guide"]["properties"]["direction"]["enum"] == list(DIRECTIONS)
    assert CLIENT_SCHEMAS["survey"]["properties"]["answer"]["enum"] == list(SATISFACTION)
    assert CLIENT_SCHEMAS["chat"]["properties"]["session_id"]["pattern"] == OBJECT_ID_PATTERN


def test_the_values_hang_together():
    assert LIVE_STATES == STATES[:-1] and STATES[-1] == "expired"
    assert FINAL_CLOSE_CODES <= set(CLOSE.values())
    assert all(4000 <= code <= 4999 for name, code in CLOSE.items() if name not in ("going_away", "protocol_error", "invalid_payload"))
    assert tuple(GUIDE_GLYPHS) == DIRECTIONS and len(set(GUIDE_GLYPHS.values())) == len(DIRECTIONS)
    assert all(re.fullmatch(OBJECT_ID_PATTERN, str(ObjectId())) for _ in range(100))
    assert not re.fullmatch(OBJECT_ID_PATTERN, str(ObjectId()).upper())


def test_the_protocol_document_lists_the_close_codes_of_the_vocabulary():
    table = DOC.split("## WebSocket close codes", 1)[1].split("\n## ", 1)[0]
    documented = {int(code) for code in re.findall(r"^\| (\d{4}) \|", table, re.M)}
    assert documented - {1009} == set(CLOSE.values())  # 1009 is Tornado's own (a message over the size limit)
    for code in FINAL_CLOSE_CODES:
        row = re.search(rf"^\| {code} \|.*$", table, re.M).group(0)
        assert "do not reconnect" in row, row


def test_the_page_data_is_the_same_values_as_json():
    data = json.loads(json.dumps(vocabulary.page_data()))
    assert data["STATES"] == list(STATES) and data["STATE"] == {s: s for s in STATES}
    assert data["CLOSE"] == dict(CLOSE) and data["FINAL_CLOSE_CODES"] == sorted(FINAL_CLOSE_CODES)
    assert data["SATISFACTION"] == list(SATISFACTION) and data["DIRECTIONS"] == list(DIRECTIONS)
    assert data["GUIDE_GLYPHS"] == dict(GUIDE_GLYPHS) and data["LANGUAGES"] == list(vocabulary.LANGUAGES)


def test_the_clients_take_the_vocabulary_without_the_server():
    """The desktop programs import anysupport.protocol.vocabulary and anysupport.i18n, and with them
    nothing of the server: no store, no database driver, no web package, no schema validators."""
    script = (
        "import json, sys\n"
        "import anysupport_client.session, anysupport_client.session.connection, anysupport_client.api\n"
        "import anysupport_agent.texts, anysupport_agent.settings, anysupport_mobile.texts, anysupport_mobile.call\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT)
    modules = set(json.loads(out.stdout))
    assert {"anysupport.protocol.vocabulary", "anysupport.i18n"} <= modules
    heavy = {m for m in modules if m.split(".")[0] in ("pymongo", "bson", "jsonschema", "fastjsonschema", "motor")
             or m.startswith(("anysupport.store", "anysupport.web", "anysupport.server", "anysupport.ws",
                              "anysupport.sessions", "anysupport.protocol.messages"))}
    assert not heavy, sorted(heavy)


def test_the_client_and_the_page_stop_reconnecting_on_the_same_codes():
    from anysupport_client.session.connection import FINAL_CLOSE_CODES as client_final

    assert client_final == FINAL_CLOSE_CODES
