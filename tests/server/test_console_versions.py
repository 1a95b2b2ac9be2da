"""``/ws?versions=``: the media-frame versions an agent's console says it speaks when its socket opens (the
server's auto-connect connects its sessions with them; end to end in tests/clients/test_group_handover.py).
A value that is not a short list of numbers from 1 to 255 is refused before the upgrade."""

from __future__ import annotations

import pytest

from anysupport.ws.handler import media_versions

UPGRADE = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
           "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Accept-Language": "en"}


@pytest.mark.parametrize("versions", ["two", "1,,x", "0", "1,256", ",".join(["1"] * 9)])
async def test_versions_that_are_not_a_few_numbers_are_refused(server, agent_factory, versions):
    client, _agent, _password = await agent_factory()
    r = await client.get(f"/ws?versions={versions}", headers=UPGRADE)
    assert (r.status, r.json["error"], r.json.get("field")) == (400, "invalid_field", "versions")
    assert r.json["message"]


def test_the_versions_read_from_the_query():
    assert media_versions("") == () and media_versions("1,2") == (1, 2) and media_versions("2, 1,") == (2, 1)
