"""Issues 17, 20 and 21: the console's paths walked as a person does, in real windows on a real X server.

The agent tests run in-process on Qt's offscreen platform. The walks of issue 17's console items —
the viewer closed and opened again, 지원 종료, the ended call, zoom and pan with the mouse, Qt's
dialogs in Korean, the waiting-customer alerts — are run again here in a child pytest whose Qt uses
the ``xcb`` platform on an Xvfb display (1366×768), so window mapping, closing and mouse events go
through the window system; their screenshots are then the whole X screen too (``agent-xcb-*.png``).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.xvfb import Xvfb

pytestmark = pytest.mark.slow

HERE = Path(__file__).parent
WALKS = ["test_viewer_call.py", "test_waiting_alert.py", "test_qt_language.py"]


def test_issue_17_console_walks_pass_in_real_x_windows(tmp_path):
    with Xvfb(1366, 768) as display:
        env = display.env()
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--basetemp={tmp_path / 'inner'}",
             *[str(HERE / name) for name in WALKS]],
            cwd=HERE.parents[1], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    assert " passed" in done.stdout and "skipped" not in done.stdout


def test_issue_21_invite_accept_view_in_real_x_windows(tmp_path):
    """초대 → 수락 → the expert's viewer with the customer's picture and the participants, in real X windows."""
    with Xvfb(1366, 768) as display:
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--basetemp={tmp_path / 'inner'}",
             str(HERE / "test_console_invite.py"), "-k", "full_rights"],
            cwd=HERE.parents[1], env=display.env(), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    assert "1 passed" in done.stdout and "skipped" not in done.stdout
    assert (HERE.parents[1] / "test-artifacts" / "agent-xcb-invite-expert-viewer-ko.png").exists()


def test_issue_20_21_freeze_frame_and_hand_over_in_real_x_windows(tmp_path):
    """화면 멈춤 on a moving scene and 상담 넘기기 (offer, accept, decline) between two consoles, in real X windows."""
    with Xvfb(1366, 768) as display:
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--basetemp={tmp_path / 'inner'}",
             str(HERE / "test_console_handover.py"), str(HERE / "test_anchored_call.py"), "-k", "handover or freeze or decline"],
            cwd=HERE.parents[1], env=display.env(), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    assert "3 passed" in done.stdout and "skipped" not in done.stdout
    assert (HERE.parents[1] / "test-artifacts" / "agent-xcb-handover-viewer-new-agent-ko.png").exists()
