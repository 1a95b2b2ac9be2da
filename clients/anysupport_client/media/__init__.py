"""The shared media pipeline: sources, quality and adaptation, H.264/Opus coding, sealing, the overlay.

No Qt in here: the agent console and the mobile client (windowed or headless) both build on it.
"""
