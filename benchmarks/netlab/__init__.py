"""The network lab: the server and the customer in two network namespaces, joined by a user-space link.

This kernel has no ``netem``, so the link is emulated as mahimahi does it: a TUN device in each
namespace and one process (``emulator.py``) moving IP packets between them under a profile
(``profiles.py``): rate with a bounded drop-tail queue, one-way delay, jitter, random loss, each
direction separately; link down and up; a customer address that stops being routed. The rules of
one direction are a plain class with an injected clock and random source (``link.py``); the
namespaces, addresses and the emulator's life are in ``lab.py``; ``probe.py`` measures what the
link really does (RTT, loss, rate) and ``harness.py`` measures the media over it, ours against
WebRTC (``webrtc.py``). See docs/netlab.md.
"""
