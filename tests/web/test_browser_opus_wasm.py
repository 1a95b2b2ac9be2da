"""Voice on iPhones whose WebCodecs has no Opus (iOS 17–25): Opus in WebAssembly (static/customer/opus-wasm.js,
opusscript's libopus), tested in Chromium with AudioEncoder and AudioDecoder hidden (``hiding("audio_codecs")``,
the test-only switch of docs/pages.md). The page's microphone is a 600 Hz tone (Chromium's fake capture from a
WAV file); the agent decodes it with its unchanged PyAV decoder, and the page plays the agent's 440 Hz tone
through the WebAssembly decoder."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest
import pytest_asyncio
from anysupport_client.media.sources import TestPatternTrack, ToneTrack
from anysupport_native import framing
from playwright.async_api import async_playwright, expect

from tests.support.audio import RATE, dominant_frequency
from tests.support.browser import (
    CHROMIUM,
    PHONE,
    CustomerPage,
    chromium_args,
    hiding,
    start_call,
    write_pattern_y4m,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]

MICROPHONE_HZ = 600
AGENT_HZ = 440.0


def write_tone_wav(path: Path, frequency: float, seconds: float = 2.0) -> Path:
    t = np.arange(int(RATE * seconds)) / RATE
    pcm = (0.3 * 32767 * np.sin(2 * np.pi * frequency * t)).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(pcm.tobytes())
    return path


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def tone_chromium(tmp_path_factory):
    """One Chromium for the module: the stamped pattern as the camera, a 600 Hz tone as the microphone."""
    folder = tmp_path_factory.mktemp("devices")
    y4m = write_pattern_y4m(folder / "pattern.y4m")
    wav = write_tone_wav(folder / "tone.wav", MICROPHONE_HZ)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=chromium_args(
            y4m, f"--use-file-for-fake-audio-capture={wav}"))
        try:
            yield browser
        finally:
            await browser.close()


@pytest_asyncio.fixture(loop_scope="module")
async def old_iphone(tone_chromium):
    """A phone page whose browser has no WebCodecs audio (AudioEncoder, AudioDecoder hidden)."""
    context = await tone_chromium.new_context(locale="en-US", **PHONE)
    context.set_default_timeout(15_000)
    await context.add_init_script(hiding("audio_codecs"))
    yield CustomerPage(await context.new_page())
    await context.close()


async def test_wasm_opus_round_trip_in_the_page(server, old_iphone):
    """The page's WebAssembly Opus alone: 20 ms packets of a 48 kHz tone, at about 32 kb/s, decoded back."""
    page = old_iphone
    await page.page.goto(server.url + "/")
    result = await page.page.evaluate(
        """async (hz) => {
            const wasm = await import('/static/customer/opus-wasm.js');
            const support = await import('/static/customer/support.js');
            const found = await support.detect();
            await wasm.loadOpus();
            const decoded = [];
            const decoder = new wasm.WasmOpusDecoder((s, rate) => decoded.push({n: s.length, rate: rate, s: s}), () => {});
            const packets = [];
            const encoder = new wasm.WasmOpusEncoder((p, t) => { packets.push({bytes: p.length, t: t}); decoder.decode(p); },
                                                     () => {});
            await new Promise((r) => setTimeout(r, 0));  // both have their libopus state
            for (let f = 0; f < 50; f++) {
                const block = new Float32Array(960);
                for (let i = 0; i < 960; i++) block[i] = 0.3 * Math.sin(2 * Math.PI * hz * (f * 960 + i) / 48000);
                encoder.encode(block, 48000, f * 20000);
            }
            encoder.close();
            decoder.close();
            const out = [];
            for (const d of decoded.slice(10)) out.push(...d.s);
            return {found: {audio_encoder: found.audio_encoder, audio_decoder: found.audio_decoder,
                            webcodecs: typeof AudioEncoder + '/' + typeof AudioDecoder},
                    packets: packets.length, times: packets.map((p) => p.t), bytes: packets.map((p) => p.bytes),
                    sizes: decoded.map((d) => d.n), rates: decoded.map((d) => d.rate), samples: out};
        }""", MICROPHONE_HZ)
    assert result["found"] == {"audio_encoder": "wasm", "audio_decoder": "wasm", "webcodecs": "undefined/undefined"}
    assert result["packets"] == 50 and result["times"] == [f * 20000 for f in range(50)]
    kbps = sum(result["bytes"][5:]) * 8 / (45 * 0.02) / 1000
    assert 20 <= kbps <= 40, kbps  # 32 kb/s asked (VBR)
    assert set(result["sizes"]) == {960} and set(result["rates"]) == {48000}
    frequency, purity = dominant_frequency(np.array(result["samples"]))
    assert abs(frequency - MICROPHONE_HZ) <= 5 and purity > 0.8, (frequency, purity)
    await page.assert_no_errors()


async def test_without_webcodecs_audio_the_voice_goes_both_ways_in_webassembly(server, old_iphone, agents):
    customer = old_iphone
    agent = await start_call(server.url, agents, customer, name="bro")
    caps = await agent.wait_for("capabilities", 10)
    assert caps["audio"] is True  # voice offered: iOS 17–25 no longer fall back to the phone call
    found = await customer.value("window.anysupportCall.found")
    assert (found["audio_encoder"], found["audio_decoder"]) == ("wasm", "wasm")
    # the page's voice (on while the agent's video is): decoded by the agent's own PyAV decoder
    heard: list[np.ndarray] = []
    stamps: list[int] = []
    receiver = agent.media.receivers[framing.STREAM_CUSTOMER_AUDIO]

    def keep(pcm: np.ndarray, header) -> None:
        heard.append(pcm.reshape(-1))
        stamps.append(header.timestamp_us)

    receiver.on_audio = keep
    # the page keeps what its WebAssembly decoder hands to the loudspeaker
    await customer.value("""(() => {
        const audio = window.anysupportCall.receivers.get(3);
        const play = audio.play.bind(audio);
        window.playedVoice = [];
        audio.play = (samples, rate) => { window.playedVoice.push(...samples); return play(samples, rate); };
    })()""")
    agent.agent_video(True, TestPatternTrack(320, 240, 15), audio=ToneTrack(AGENT_HZ, 0.3))
    await agent.current.wait_until(lambda: len(heard) >= 100, 20, "customer voice")
    assert {len(pcm) for pcm in heard} == {960}  # one 20 ms Opus packet per frame, 48 kHz mono
    gaps = np.diff(stamps[-50:])
    assert 15_000 <= np.median(gaps) <= 25_000, gaps
    frequency, purity = dominant_frequency(np.concatenate(heard[-60:]))
    assert abs(frequency - MICROPHONE_HZ) <= 5 and purity > 0.6, (frequency, purity)

    await customer.wait("window.playedVoice.length >= 48000 * 1.5", 15_000)
    played = np.array(await customer.value("window.playedVoice.slice(-48000)"))
    frequency, purity = dominant_frequency(played)
    assert abs(frequency - AGENT_HZ) <= 5 and purity > 0.6, (frequency, purity)
    stats = await customer.stats()
    assert stats["audio_context"] == "running" and stats["audio_played"] > 10
    await expect(customer.page.locator("#voice-badge")).to_be_visible()
    await expect(customer.page.locator("#voice-note")).to_be_hidden()
    await customer.assert_no_errors()
