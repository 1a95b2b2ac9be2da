import av
import numpy as np
import pytest
from anysupport_agent.capture import save_capture
from anysupport_agent.recorder import AudioMix, CustomerVideoRecorder, ViewRecorder
from anysupport_client.media.codec import VideoEncoder
from anysupport_client.media.quality import LEVELS
from anysupport_client.media.sources import TestPatternTrack


class Clock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


def tone(n=960, freq=440.0, offset=0):
    t = (np.arange(n) + offset) / 48000
    return (np.sin(2 * np.pi * freq * t) * 8000).astype(np.int16)


def test_mix_places_voices_on_one_timeline():
    mix = AudioMix()
    mix.add("customer", np.full(480, 100, np.int16), 0)
    mix.add("agent", np.full(480, 50, np.int16), 240)
    out = mix.take(960)
    assert out[0] == 100 and out[300] == 150 and out[600] == 50 and out[900] == 0
    mix.add("customer", np.full(10, 7, np.int16), 100)  # late: placed after what was taken
    assert mix.take(970)[0] == 7


def test_customer_video_is_remuxed_with_its_voice(tmp_path):
    clock = Clock()
    path = tmp_path / "customer.mp4"
    rec = CustomerVideoRecorder(path, clock=clock)
    encoder = VideoEncoder(LEVELS["medium"].quality)
    source = TestPatternTrack()
    sent = 0
    for i in range(90):  # 3 s at 30 fps
        for payload, key in encoder.encode(source.render(i * 3000), keyframe=(i == 0)):
            if i < 3 and not key:
                continue
            rec.add_video(payload, key, 1_000_000 + i * 33_333, 640, 480)
            sent += 1
        clock.t += 1 / 30
        if i % 2 == 0:
            for k in range(3):
                rec.add_audio("customer", tone(offset=(i * 3 + k) * 960))
    assert rec.stop() == path
    with av.open(str(path)) as c:
        video = c.streams.video[0]
        assert (video.codec_context.width, video.codec_context.height) == (640, 480)
        assert video.codec_context.name == "h264"
        assert len(c.streams.audio) == 1
        assert float(c.duration / av.time_base) == pytest.approx(3.0, abs=0.25)
        assert sum(1 for _ in c.decode(video=0)) == rec.packets


def test_customer_recording_waits_for_a_keyframe(tmp_path):
    rec = CustomerVideoRecorder(tmp_path / "x.mp4")
    rec.add_video(b"\x00\x00\x00\x01\x41", False, 0, 640, 480)
    assert rec.stop() is None and not (tmp_path / "x.mp4").exists()


def test_whole_view_recording_pauses(tmp_path):
    clock = Clock()
    path = tmp_path / "view.mp4"
    rec = ViewRecorder(path, clock=clock, fps=10)
    frame = np.zeros((301, 401, 3), np.uint8)
    for i in range(40):  # 4 s, of which 1 s paused
        if i == 10:
            rec.pause()
        if i == 20:
            rec.resume()
        frame[:] = (i * 6) % 255
        rec.add_frame(frame if i % 2 == 0 else np.zeros((600, 800, 3), np.uint8))
        rec.add_audio("customer", tone(4800, offset=i * 4800))
        clock.t += 0.1
    rec.stop()
    with av.open(str(path)) as c:
        video = c.streams.video[0]
        assert (video.codec_context.width, video.codec_context.height) == (400, 300)
        assert len(c.streams.audio) == 1
        assert float(c.duration / av.time_base) == pytest.approx(3.0, abs=0.3)


def test_capture_is_a_png_of_the_frame_size(tmp_path):
    rgb = np.zeros((480, 640, 3), np.uint8)
    rgb[10:20, 30:40] = (255, 0, 0)
    path = save_capture(rgb, tmp_path / "Capture", "1675", drawings=False)
    second = save_capture(rgb, tmp_path / "Capture", "1675", drawings=False)
    assert path != second and path.suffix == ".png"
    with av.open(str(path)) as c:
        frame = next(c.decode(video=0))
        assert (frame.width, frame.height) == (640, 480)
        back = frame.to_ndarray(format="rgb24")
    assert (back == rgb).all()
