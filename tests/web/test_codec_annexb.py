"""The page's length-prefixed AVC → Annex B conversion (customer/codec.js, issue 19 "WebKit"), run in
Chromium: known avcC records and access units against bytes built here, then Chromium's own encoder
asked for length-prefixed AVC (as WebKitGTK gives whatever it is asked), converted by the page and
decoded by the Python clients' decoder."""

from __future__ import annotations

import pytest
from anysupport_client.media.codec import VideoDecoder

pytestmark = [pytest.mark.browser]

SPS = bytes.fromhex("6742c01f8c8d40a0fd00f08846a0")  # WebKitGTK 2.50's SPS for 320x240
PPS = bytes.fromhex("68ce3c80")
IDR = bytes.fromhex("65888040ffee")
SEI = bytes.fromhex("0605ff00")
SLICE = bytes.fromhex("419a2233")
START = b"\x00\x00\x00\x01"


def avcc(length_size: int, sps=(SPS,), pps=(PPS,)) -> bytes:
    record = bytes([1, 0x42, 0xC0, 0x1F, 0xFC | (length_size - 1), 0xE0 | len(sps)])
    for s in sps:
        record += len(s).to_bytes(2, "big") + s
    record += bytes([len(pps)])
    for p in pps:
        record += len(p).to_bytes(2, "big") + p
    return record


def prefixed(length_size: int, *units: bytes) -> bytes:
    return b"".join(len(u).to_bytes(length_size, "big") + u for u in units)


def annexb(*units: bytes) -> bytes:
    return b"".join(START + u for u in units)


CASES = [
    # (name, avcC, access unit, keyframe, expected Annex B)
    ("keyframe without SPS gets the avcC's", avcc(4), prefixed(4, IDR), True, annexb(SPS, PPS, IDR)),
    ("keyframe with its own SPS is not doubled", avcc(4), prefixed(4, SPS, PPS, SEI, IDR), True,
     annexb(SPS, PPS, SEI, IDR)),
    ("delta frame", avcc(4), prefixed(4, SLICE), False, annexb(SLICE)),
    ("two-byte lengths", avcc(2), prefixed(2, SEI, SLICE), False, annexb(SEI, SLICE)),
    ("one-byte lengths, keyframe", avcc(1), prefixed(1, IDR), True, annexb(SPS, PPS, IDR)),
    ("two parameter sets each", avcc(4, sps=(SPS, SPS[:-1]), pps=(PPS, PPS[:-1])), prefixed(4, IDR), True,
     annexb(SPS, SPS[:-1], PPS, PPS[:-1], IDR)),
]

CONVERT = """async (cases) => {
    const codec = await import('/static/customer/codec.js');
    const fromHex = (h) => new Uint8Array(h.match(/../g).map((b) => parseInt(b, 16)));
    const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
    return cases.map(([avcc, unit, key]) => {
        try { return hex(codec.lengthPrefixedToAnnexB(fromHex(unit), codec.parseAvcC(fromHex(avcc).buffer), key)); }
        catch (e) { return 'error: ' + e.message; }
    });
}"""


async def test_length_prefixed_access_units_become_annex_b(server, open_page):
    page, problems = await open_page()
    await page.goto(server.url + "/")
    got = await page.evaluate(CONVERT, [[a.hex(), u.hex(), k] for _, a, u, k, _ in CASES])
    assert got == [want.hex() for *_, want in CASES], [name for name, *_ in CASES]

    # malformed input is refused, never turned into garbage on the wire
    bad = [
        [avcc(4).hex(), (prefixed(4, IDR) + b"\x00").hex(), False],   # trailing byte
        [avcc(4).hex(), prefixed(4, IDR)[:-1].hex(), True],          # length past the end
        [avcc(4).hex(), "", False],                                  # empty
        [avcc(4).hex(), (b"\x00\x00\x00\x00" + IDR).hex(), False],   # a zero length
        [("00" + avcc(4).hex()[2:]), prefixed(4, IDR).hex(), True],  # not version 1
        [avcc(4)[:-2].hex(), prefixed(4, IDR).hex(), True],          # PPS cut short
    ]
    assert all(r.startswith("error: ") for r in await page.evaluate(CONVERT, bad))

    # what the start-up probe decides from a first keyframe and its description
    formats = await page.evaluate(
        """async ([avcc, prefixed, annexb]) => {
            const {h264Format} = await import('/static/customer/codec.js');
            const fromHex = (h) => new Uint8Array(h.match(/../g).map((b) => parseInt(b, 16)));
            return [h264Format(fromHex(prefixed), fromHex(avcc)), h264Format(fromHex(annexb), undefined),
                    h264Format(fromHex(annexb), fromHex(avcc)), h264Format(fromHex(prefixed), undefined),
                    h264Format(fromHex('deadbeef00'), fromHex(avcc))];
        }""", [avcc(4).hex(), prefixed(4, SPS, PPS, IDR).hex(), annexb(SPS, PPS, IDR).hex()])
    assert formats == ["avc", "annexb", "annexb", None, None]
    problems.assert_none()


async def test_chromium_length_prefixed_output_converted_by_the_page_decodes(server, open_page):
    """Chromium honours ``avc: {format: "avc"}``: its length-prefixed output, converted as WebKit's is,
    must decode frame for frame in the agent's decoder (PyAV), keyframes first in the stream included."""
    page, problems = await open_page()
    await page.goto(server.url + "/")
    result = await page.evaluate(
        """async () => {
            const codec = await import('/static/customer/codec.js');
            const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
            const out = [];
            let avcc = null, lastError = null;
            const encoder = new VideoEncoder({
                output: (chunk, metadata) => {
                    if (metadata && metadata.decoderConfig && metadata.decoderConfig.description) {
                        avcc = codec.parseAvcC(metadata.decoderConfig.description);
                    }
                    const bytes = new Uint8Array(chunk.byteLength);
                    chunk.copyTo(bytes);
                    out.push({key: chunk.type === 'key', format: codec.h264Format(bytes, avcc ? metadata?.decoderConfig?.description : null),
                              annexb: hex(codec.lengthPrefixedToAnnexB(bytes, avcc, chunk.type === 'key'))});
                },
                error: (e) => { lastError = String(e); },
            });
            encoder.configure({codec: codec.CODEC, width: 320, height: 240, bitrate: 400000, framerate: 15,
                               latencyMode: 'realtime', avc: {format: 'avc'}});
            const canvas = new OffscreenCanvas(320, 240);
            const ctx = canvas.getContext('2d');
            for (let i = 0; i < 12; i++) {
                ctx.fillStyle = `rgb(${i * 20}, 80, ${255 - i * 20})`;
                ctx.fillRect(0, 0, 320, 240);
                ctx.fillStyle = '#fff';
                ctx.fillRect(i * 20, 100, 40, 40);
                const frame = new VideoFrame(canvas, {timestamp: i * 66666});
                encoder.encode(frame, {keyFrame: i === 0 || i === 8});
                frame.close();
            }
            await encoder.flush();
            encoder.close();
            return {out, lastError};
        }""")
    assert result["lastError"] is None
    chunks = result["out"]
    assert len(chunks) == 12 and chunks[0]["key"] and chunks[0]["format"] == "avc"
    decoder = VideoDecoder()
    decoded = []
    for chunk in chunks:
        payload = bytes.fromhex(chunk["annexb"])
        assert payload.startswith(START)
        decoded += decoder.decode(payload)
    assert len(decoded) == 12 and {(f.width, f.height) for f in decoded} == {(320, 240)}
    # the second keyframe alone (SPS/PPS in front) starts a fresh decoder
    second = [c for c in chunks if c["key"]][-1]
    assert len(VideoDecoder().decode(bytes.fromhex(second["annexb"]))) == 1
    problems.assert_none()
