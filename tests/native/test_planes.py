"""The argument checks' fast path (``_planes``) says exactly what the Python checks say.

``planes.check_i420`` and ``planes.check_disjoint`` ask the compiled ``_planes`` first and fall back
to the Python checks when it is not sure; these tests run every case both ways and compare (under
``ANYSUPPORT_NATIVE=reference`` the fast path is not loaded and both ways are the Python checks).
"""

import numpy as np
import pytest
from anysupport_native import planes
from anysupport_native.planes import I420, check_disjoint, check_i420
from hypothesis import given, settings
from hypothesis import strategies as st


def _outcome(fn):
    try:
        result = fn()
    except ValueError as exc:
        return ("error", str(exc))
    return ("ok", tuple((p.shape, p.__array_interface__["data"][0]) for p in result))


def _cases():
    buf = np.zeros((10, 12), np.uint8)
    readonly = I420.empty(4, 4)
    readonly.u.setflags(write=False)

    class Sub(np.ndarray):
        pass

    return {
        "good": (I420.empty(6, 4), False),
        "good odd": (I420.empty(7, 5), True),
        "list": ([np.zeros((4, 4), np.uint8), np.zeros((2, 2), np.uint8), np.zeros((2, 2), np.uint8)], False),
        "two planes": ((np.zeros((4, 4), np.uint8),) * 2, False),
        "chroma shape": ((np.zeros((4, 4), np.uint8), np.zeros((2, 3), np.uint8), np.zeros((2, 2), np.uint8)), False),
        "float": ((np.zeros((4, 4), np.float32), np.zeros((2, 2), np.uint8), np.zeros((2, 2), np.uint8)), False),
        "3-d": ((np.zeros((4, 4, 1), np.uint8), np.zeros((2, 2), np.uint8), np.zeros((2, 2), np.uint8)), False),
        "empty": ((np.zeros((0, 4), np.uint8), np.zeros((0, 2), np.uint8), np.zeros((0, 2), np.uint8)), False),
        "strided input": ((buf[:4, ::2], buf[4:6, :3], buf[6:8, :3]), False),
        "strided output": ((buf[:4, ::2], buf[4:6, :3], buf[6:8, :3]), True),
        "read-only output": (readonly, True),
        "overlapping output": ((buf[:4, :4], buf[2:4, :2], buf[8:10, :2]), True),
        "subclass": ((np.zeros((4, 4), np.uint8).view(Sub), np.zeros((2, 2), np.uint8), np.zeros((2, 2), np.uint8)),
                     False),
    }


@pytest.mark.parametrize("case", list(_cases()))
def test_check_i420_same_answer_on_both_paths(monkeypatch, case):
    value, output = _cases()[case]
    got = _outcome(lambda: check_i420(value, "f", output=output))
    monkeypatch.setattr(planes, "_fast", None)
    want = _outcome(lambda: check_i420(value, "f", output=output))
    if case == "strided input":  # copied by both paths: same shapes, new buffers
        assert got[0] == want[0] == "ok" and [s for s, _ in got[1]] == [s for s, _ in want[1]]
    else:
        assert got == want


@settings(max_examples=200, deadline=None)
@given(a=st.tuples(st.integers(0, 15), st.integers(1, 6), st.integers(0, 15), st.integers(1, 6), st.sampled_from([1, -1])),
       b=st.tuples(st.integers(0, 15), st.integers(1, 6), st.integers(0, 15), st.integers(1, 6), st.sampled_from([1, -1])))
def test_disjoint_agrees_with_may_share_memory(a, b):
    buf = np.zeros((24, 24), np.uint8)

    def view(r, h, c, w, step):
        v = buf[r:r + h, c:c + w]
        return v[::step]

    va, vb = view(*a), view(*b)
    overlap = np.may_share_memory(va, vb)
    if overlap:
        with pytest.raises(ValueError, match="overlap"):
            check_disjoint(va, (vb,), "out")
    else:
        check_disjoint(va, (vb,), "out")
    if planes._fast is not None:
        assert planes._fast.disjoint((va,), (vb,)) == (not overlap)
