# cython: language_level=3, boundscheck=False, wraparound=False
# distutils: define_macros = NPY_NO_DEPRECATED_API=NPY_1_7_API_VERSION
"""Fast paths of the argument checks in ``planes.py`` (validation, not pixels).

A frame call through the public API used to spend more time checking its arguments than moving the
pixels of a 640x480 I420 frame (~15 us: a dozen attribute reads and nine ``np.may_share_memory``
calls). These two functions answer the common question (well-formed, non-overlapping arrays) from
the arrays' C fields in one call. They only ever say "fine" or "not sure": on False the Python
checks run and raise their precise errors (or copy an input whose pixels are not packed), so the
messages and the reference mode (``ANYSUPPORT_NATIVE=reference``, where this module is not loaded)
stay the same.
"""

cimport numpy as cnp

cnp.import_array()

cdef enum:
    MAX_SIDE = 16384  # as planes.MAX_SIDE


cdef inline bint _plane_ok(object obj, bint output):
    if type(obj) is not cnp.ndarray:
        return False
    cdef cnp.ndarray a = <cnp.ndarray>obj
    if cnp.PyArray_TYPE(a) != cnp.NPY_UINT8 or cnp.PyArray_NDIM(a) != 2:
        return False
    cdef cnp.npy_intp *dims = cnp.PyArray_DIMS(a)
    if dims[0] < 1 or dims[1] < 1 or dims[0] > MAX_SIDE or dims[1] > MAX_SIDE:
        return False
    if cnp.PyArray_STRIDES(a)[1] != 1:
        return False
    if output and not cnp.PyArray_ISWRITEABLE(a):
        return False
    return True


cdef inline void _extent(cnp.ndarray a, Py_ssize_t *lo, Py_ssize_t *hi):
    # the bytes a may touch (what np.may_share_memory compares)
    cdef Py_ssize_t start = <Py_ssize_t>cnp.PyArray_DATA(a), first = 0, last = 0, step
    cdef int k
    for k in range(cnp.PyArray_NDIM(a)):
        if cnp.PyArray_DIMS(a)[k] == 0:
            lo[0] = hi[0] = start
            return
        step = (cnp.PyArray_DIMS(a)[k] - 1) * cnp.PyArray_STRIDES(a)[k]
        if step < 0:
            first += step
        else:
            last += step
    lo[0] = start + first
    hi[0] = start + last + cnp.PyArray_ITEMSIZE(a)


def disjoint(a, b):
    """True when no ndarray of the sequence ``a`` can share memory with one of ``b`` (False: not sure)."""
    cdef Py_ssize_t alo, ahi, blo, bhi
    for x in a:
        if not isinstance(x, cnp.ndarray):
            return False
        _extent(<cnp.ndarray>x, &alo, &ahi)
        for y in b:
            if not isinstance(y, cnp.ndarray):
                return False
            _extent(<cnp.ndarray>y, &blo, &bhi)
            if alo < bhi and blo < ahi:
                return False
    return True


def i420_ok(planes, bint output):
    """True when ``planes`` is a tuple of three packed uint8 planes with I420 shapes (and, for an output,
    writable and not overlapping each other)."""
    if not isinstance(planes, tuple) or len(planes) != 3:
        return False
    y, u, v = planes
    if not (_plane_ok(y, output) and _plane_ok(u, output) and _plane_ok(v, output)):
        return False
    cdef cnp.npy_intp *yd = cnp.PyArray_DIMS(<cnp.ndarray>y)
    cdef cnp.npy_intp ch = (yd[0] + 1) // 2, cw = (yd[1] + 1) // 2
    for c in (u, v):
        if cnp.PyArray_DIMS(<cnp.ndarray>c)[0] != ch or cnp.PyArray_DIMS(<cnp.ndarray>c)[1] != cw:
            return False
    if output and not (disjoint((y,), (u, v)) and disjoint((u,), (v,))):
        return False
    return True
