"""Support sessions: codes, joining, the state machine, timeouts, reconnection, the control channel."""
